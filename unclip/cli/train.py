"""`unclip train clip|prior|decoder|upsampler --config run.toml [--resume]`, `unclip train export`,
`unclip train init-config`."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from unclip.cli.common import check_new_file, write_file
from unclip.errors import InputError

# unclip.training.config.STAGES (tests/cli/test_startup_imports.py keeps them equal); not imported here,
# because that module imports torch, and `unclip --help` should not wait for it
STAGES = ("clip", "prior", "decoder", "upsampler")


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser(
        "train",
        help="train a stage (clip, prior, decoder, upsampler) or export trained stages",
        description="Train one stage of the cascade on your own image-text data. Runs unchanged on one CPU "
        "or under `accelerate launch` on many GPUs. See docs/TRAINING.md.",
    )
    stages = p.add_subparsers(dest="train_command", metavar="STAGE")
    p.set_defaults(func=lambda _a: (p.print_help(), 2)[1])
    for stage in STAGES:
        s = stages.add_parser(stage, help=f"train the {stage}", description=f"Train the {stage} stage.")
        s.add_argument(
            "--config", required=True, metavar="FILE", help="training config (.toml, .json or .yaml)"
        )
        s.add_argument(
            "--resume", action="store_true", help="continue from the run folder's newest checkpoint (if any)"
        )
        s.add_argument(
            "--set",
            action="append",
            default=[],
            metavar="KEY=VALUE",
            help="override a config value, e.g. --set train.steps=100 --set optim.lr=3e-4 (repeatable)",
        )
        s.set_defaults(func=_run_train, stage=stage)

    e = stages.add_parser(
        "export",
        help="assemble trained stages into a model directory",
        description="Write a model directory (for `unclip generate --model`) from run folders (EMA weights "
        "of their newest checkpoint) or existing model directories.",
    )
    e.add_argument("-o", "--out", required=True, metavar="DIR", help="model directory to write")
    e.add_argument(
        "--clip",
        required=True,
        metavar="RUN",
        help="CLIP run folder (or model directory): CLIP and tokenizer",
    )
    for slot in ("prior", "decoder", "upsampler-256"):
        e.add_argument(
            f"--{slot}", required=True, metavar="RUN", help=f"{slot} run folder (or model directory)"
        )
    for slot in ("upsampler-1024", "decoder-inpaint", "upsampler-256-inpaint", "upsampler-1024-inpaint"):
        e.add_argument(f"--{slot}", default=None, metavar="RUN", help=f"optional {slot} run folder")
    e.add_argument("--weights", choices=("ema", "raw"), default="ema", help="EMA (default) or live weights")
    e.add_argument(
        "--dtype", choices=("fp32", "fp16", "bf16"), default="fp32", help="stored precision (default fp32)"
    )
    e.add_argument("--description", default="", help="free text stored in model_index.json")
    e.add_argument("--overwrite", action="store_true", help="write into OUT even if it is not empty")
    e.add_argument(
        "--sampling",
        default=None,
        metavar="FILE",
        help="JSON of the model's default sampler settings per stage (sampler, steps, guidance, eta) and "
        "prior_candidates, edit_method, outpaint_method, edit_guidance, edit_context and vary_keep; "
        "default: Karlo's (25/25/7 steps, guidance 4 and 8)",
    )
    e.set_defaults(func=_run_export)

    c = stages.add_parser(
        "init-config",
        help="write an example config for a stage",
        description="Write a complete, commented TOML config for a stage at a preset size.",
    )
    c.add_argument("stage", choices=STAGES)
    c.add_argument("-o", "--out", required=True, metavar="FILE")
    c.add_argument(
        "--preset", choices=("tiny", "bench", "paper"), default="bench", help="network sizes (default bench)"
    )
    c.add_argument("--data", default="data/my-dataset", help="data.source to write")
    c.add_argument("--run-dir", default=None, help="run_dir to write (default runs/STAGE)")
    c.add_argument("--clip", default="runs/clip", help="CLIP run for prior/decoder configs")
    c.add_argument("--overwrite", action="store_true", help="replace FILE if it exists")
    c.set_defaults(func=_run_init)


def _run_train(args: argparse.Namespace) -> int:
    from unclip.training.config import load_train_config
    from unclip.training.trainer import train

    cfg = load_train_config(args.config, args.stage, args.set)
    result = train(cfg, resume=args.resume)
    if result.stopped_by:
        why = (
            "train.max_minutes reached"
            if result.stopped_by == "max_minutes"
            else f"stopped by {result.stopped_by}"
        )
        print(
            f"unclip: {why} at step {result.step}; a checkpoint was written. "
            f"Continue with: unclip train {args.stage} --config {args.config} --resume",
            file=sys.stderr,
        )
        if result.stopped_by != "max_minutes":  # a time limit is a normal end; a signal is not
            return 130 if result.stopped_by == "SIGINT" else 143
    print(result.run_dir)
    return 0


def _run_export(args: argparse.Namespace) -> int:
    import torch

    from unclip.training.export import export_model

    slots = {
        "prior": args.prior,
        "decoder": args.decoder,
        "upsampler_256": args.upsampler_256,
        "upsampler_1024": args.upsampler_1024,
        "decoder_inpaint": args.decoder_inpaint,
        "upsampler_256_inpaint": args.upsampler_256_inpaint,
        "upsampler_1024_inpaint": args.upsampler_1024_inpaint,
    }
    from unclip.cascade.settings import SamplingConfig

    check_export_dir(Path(args.out), args.overwrite)
    dtype = {"fp32": None, "fp16": torch.float16, "bf16": torch.bfloat16}[args.dtype]
    sampling = SamplingConfig.load(args.sampling) if args.sampling else None
    out = export_model(
        args.out,
        args.clip,
        {k: v for k, v in slots.items() if v},
        args.weights,
        dtype,
        sampling=sampling,
        description=args.description,
    )
    print(out)
    return 0


def check_export_dir(out: Path, overwrite: bool) -> None:
    """-o of `train export`: a folder that is new or empty, or --overwrite (never silently mixed or replaced)."""
    if out.exists() and not out.is_dir():
        raise InputError(f"-o/--out {out}: exists and is not a folder; give a new folder for the model")
    if out.is_dir() and any(out.iterdir()) and not overwrite:
        raise InputError(
            f"-o/--out {out}: already exists and is not empty (pass --overwrite to write into it)"
        )


def _run_init(args: argparse.Namespace) -> int:
    from unclip.training.example_configs import example_config, to_toml

    out = check_new_file(args.out, "-o/--out", args.overwrite)
    data = example_config(args.stage, args.preset, args.data, args.run_dir or f"runs/{args.stage}", args.clip)
    write_file(out, to_toml(data, args.stage), "-o/--out")
    print(args.out)
    return 0
