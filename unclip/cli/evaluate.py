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
        help="score a model: CLIP retrieval accuracy and CLIP-space FID",
        description="Generate one image per evaluation prompt (seen = training concepts, unseen = held-out "
        "concepts of an `unclip data` dataset) and report top-1/top-5 CLIP retrieval accuracy among all "
        "evaluation captions and the Fréchet distance to real images in CLIP image-embedding space.",
    )
    p.add_argument("--data", required=True, help="dataset folder written by `unclip data` (with metadata.jsonl)")
    p.add_argument("--prompts", type=positive_int, default=100, help="prompts per split (seen, unseen); default 100")
    p.add_argument("--size", type=int, default=64, choices=(64, 256), help="image size to score (default 64)")
    p.add_argument("--seed", type=seed_int, default=0)
    p.add_argument("--batch", type=positive_int, default=16, help="prompts per generation batch")
    p.add_argument("--json", dest="json_out", default=None, help="also write the report as JSON here")
    p.add_argument("--save-images", default=None, metavar="DIR", help="write the generated images here")
    p.add_argument("--overwrite", action="store_true", help="replace the --json file if it exists")
    add_model_options(p)
    add_stage_options(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from unclip.evaluation import evaluate

    json_out = check_new_file(args.json_out, "--json", args.overwrite) if args.json_out else None
    if args.save_images:
        check_out_dir(args.save_images, "--save-images")
    pipe = load_pipeline(args)
    report = evaluate(
        pipe, args.data, per_split=args.prompts, size=args.size, seed=args.seed, batch=args.batch,
        progress=True, save_dir=args.save_images, **stage_settings(args),
    )
    print(report.summary())
    if json_out:
        write_file(json_out, json.dumps(report.to_dict(), indent=2) + "\n", "--json")
    return 0
