"""`unclip eval --data DATASET`: CLIP retrieval accuracy and CLIP-space FID on seen and unseen concepts."""

from __future__ import annotations

import argparse
import json

from unclip.cli.common import (
    add_model_options,
    add_stage_options,
    check_new_file,
    check_out_dir,
    load_pipeline,
    positive_int,
    seed_int,
    stage_settings,
    write_file,
)


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "eval",
        help="score a model: an independent judge, CLIP retrieval accuracy and CLIP-space FID",
        description="Generate one image per evaluation prompt (seen = training concepts, unseen = held-out "
        "concepts of an `unclip data` dataset) and report: how often the independent judge (an emoji "
        "classifier trained on real emoji, not the model's CLIP) names the prompt's concept, for the "
        "generated pictures and for real images decoded from their own CLIP embedding (reconstruction); "
        "top-1/top-5 retrieval by the model's own CLIP among all evaluation captions; the Fréchet distance "
        "to real images in CLIP image-embedding space.",
    )
    p.add_argument(
        "--data", required=True, help="dataset folder written by `unclip data` (with metadata.jsonl)"
    )
    p.add_argument(
        "--prompts", type=positive_int, default=100, help="prompts per split (seen, unseen); default 100"
    )
    p.add_argument("--size", type=int, default=64, choices=(64, 256), help="image size to score (default 64)")
    p.add_argument("--seed", type=seed_int, default=0)
    p.add_argument("--batch", type=positive_int, default=16, help="prompts per generation batch")
    p.add_argument("--json", dest="json_out", default=None, help="also write the report as JSON here")
    p.add_argument("--save-images", default=None, metavar="DIR", help="write the generated images here")
    p.add_argument("--overwrite", action="store_true", help="replace the --json file if it exists")
    p.add_argument(
        "--judge",
        default=None,
        metavar="DIR",
        help="judge folder (`unclip judge train`); default: the one shipped with unclip",
    )
    p.add_argument(
        "--no-judge", action="store_true", help="leave out the judge's figures (and the reconstructions)"
    )
    p.add_argument(
        "--no-reconstruction",
        action="store_true",
        help="leave out the reconstructions (real images decoded from their own CLIP embeddings)",
    )
    p.add_argument(
        "--reconstruct-style",
        default="google",
        help="style of the real images to reconstruct, when the dataset has it (default google)",
    )
    add_model_options(p)
    add_stage_options(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from unclip.evaluation import evaluate

    json_out = check_new_file(args.json_out, "--json", args.overwrite) if args.json_out else None
    if args.save_images:
        check_out_dir(args.save_images, "--save-images")
    judge = None
    if not args.no_judge:
        from unclip.evaluation.judge import Judge

        judge = Judge.load(args.judge)
    pipe = load_pipeline(args)
    report = evaluate(
        pipe,
        args.data,
        per_split=args.prompts,
        size=args.size,
        seed=args.seed,
        batch=args.batch,
        progress=True,
        save_dir=args.save_images,
        judge=judge,
        reconstruct=not args.no_reconstruction,
        reconstruct_style=args.reconstruct_style,
        **stage_settings(args),
    )
    print(report.summary())
    if json_out:
        write_file(json_out, json.dumps(report.to_dict(), indent=2) + "\n", "--json")
    return 0
