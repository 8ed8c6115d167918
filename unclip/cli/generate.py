"""`unclip generate "a prompt" -n 4 --size 1024 --seed 7 -o out/`: text to images."""

from __future__ import annotations

import argparse
import sys

from unclip.cli.common import (
    add_model_options,
    add_provenance_options,
    add_stage_options,
    check_out_dir,
    check_text,
    load_pipeline,
    seed_int,
    slug,
    stage_settings,
    write_images,
)
from unclip.errors import InputError


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "generate",
        help="generate images from a text prompt",
        description="Generate images from text prompts with the unCLIP cascade "
        "(prior -> 64 px decoder -> 64->256 -> 256->1024 upsamplers).",
    )
    p.add_argument("prompt", nargs="+", help="one or more prompts (quote each one)")
    p.add_argument("-n", type=int, default=1, help="images per prompt (default 1)")
    p.add_argument(
        "--size", type=int, default=256, choices=(64, 256, 512, 1024), help="output size in px (default 256)"
    )
    p.add_argument(
        "--seed", type=seed_int, default=None, help="random seed: the same seed gives the same images"
    )
    p.add_argument("-o", "--out", default="out", help="output folder (default ./out)")
    add_model_options(p)
    add_provenance_options(p)
    add_stage_options(p)
    p.set_defaults(func=run)


def check_prompts(prompts: list[str]) -> None:
    for i, prompt in enumerate(prompts, 1):
        where = f"prompt {i}" if len(prompts) > 1 else "prompt"
        if not prompt.strip():
            raise InputError(f"{where}: empty; describe the image to generate")
        check_text(prompt, where)


def run(args: argparse.Namespace) -> int:
    check_prompts(args.prompt)
    out = check_out_dir(args.out)
    # text to image needs no inpainting networks, and no 256->1024 upsampler up to 256 px
    pipe = load_pipeline(args, components=[] if args.size <= 256 else ["upsampler_1024"])
    images = pipe.generate(
        args.prompt, n=args.n, size=args.size, seed=args.seed, progress=True, **stage_settings(args)
    )
    for i, prompt in enumerate(args.prompt):
        batch = images[i * args.n : (i + 1) * args.n]
        stem = slug(prompt) + (f"-s{args.seed}" if args.seed is not None else "")
        for path in write_images(batch, out, stem, pipe.provenance):
            print(path)
    sys.stdout.flush()
    return 0
