"""`unclip judge train`: train the independent judge that `unclip eval` scores pictures with."""

from __future__ import annotations

import argparse
import math
import sys

from unclip.cli.common import check_out_dir, positive_int, seed_int


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a number, got {text!r}") from None
    if not (math.isfinite(value) and value > 0):
        raise argparse.ArgumentTypeError(f"must be a positive number, got {text!r}")
    return value


def register(sub: argparse._SubParsersAction) -> None:
    judge = sub.add_parser(
        "judge",
        help="train the independent judge (an emoji-concept classifier) that `unclip eval` uses",
        description="The judge names the emoji concept in a picture. It trains on real emoji only, never on "
        "generated pictures and not with the model's CLIP, and is measured on one style it never trains on.",
    )
    jsub = judge.add_subparsers(dest="judge_command", metavar="ACTION")
    judge.set_defaults(func=lambda _args: (judge.print_help(), 2)[1])
    train = jsub.add_parser(
        "train",
        help="train a judge on an `unclip data emoji` folder",
        description="Train on every style of --data except --test-style, then write the judge folder "
        "(config.json, labels.json, model.safetensors, report.json with its accuracy on --test-style). "
        "Data: unclip data emoji data/judge64 --install "
        "--styles google,twitter,noto,fluent,fluent-flat,emojione,openmoji",
    )
    train.add_argument(
        "--data", required=True, help="folder written by `unclip data emoji` with several styles"
    )
    train.add_argument("-o", "--out", required=True, help="judge folder to write")
    train.add_argument(
        "--test-style", default="openmoji", help="the style it never trains on (default openmoji)"
    )
    train.add_argument(
        "--epochs", type=positive_int, default=16, help="passes over the training pictures (default 16)"
    )
    train.add_argument("--batch", type=positive_int, default=128, help="batch size (default 128)")
    train.add_argument("--lr", type=_positive_float, default=3e-3, help="peak learning rate (default 3e-3)")
    train.add_argument("--seed", type=seed_int, default=0)
    train.set_defaults(func=_train)


def _train(args: argparse.Namespace) -> int:
    from unclip.evaluation.judge.train import train_judge

    check_out_dir(args.out)
    report = train_judge(
        args.data,
        args.out,
        test_style=args.test_style,
        epochs=args.epochs,
        batch_size=args.batch,
        lr=args.lr,
        seed=args.seed,
        log=lambda m: print(m, file=sys.stderr, flush=True),
    )
    print(
        f"judge written to {args.out}: on {report['test_style']} (never trained on) top-1 "
        f"{report['test_top1']:.1%}, top-5 {report['test_top5']:.1%} among {report['concepts']} concepts"
    )
    return 0
