"""`unclip edit IMAGE "prompt" --mask MASK`: regenerate the masked area of an image (inpainting).

Also holds the helpers the other editing subcommands (outpaint, vary, interpolate, textdiff) share.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

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

DECODER_STAGES = ("decoder", "upsampler_256", "upsampler_1024")


def note(message: str) -> None:
    print(f"unclip: {message}", file=sys.stderr)


def add_output_options(p: argparse.ArgumentParser, sizes: tuple[int, ...] = (64, 256, 512, 1024)) -> None:
    p.add_argument("--size", type=int, default=256, choices=sizes, help="output size in px (default 256)")
    p.add_argument(
        "--seed", type=seed_int, default=None, help="random seed: the same seed gives the same images"
    )
    p.add_argument("-o", "--out", default="out", help="output folder (default ./out)")


def add_fit_option(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--fit",
        choices=("crop", "pad"),
        default="crop",
        help="non-square inputs: centre-crop to a square (default), or pad to a square "
        "(for edit the padding is generated too)",
    )


def load_and_explain(what: str, path: str, size: int, fit: str):  # type: ignore[no-untyped-def]
    """Load an input image (clear errors for bad files) and say what will happen to its size and shape."""
    from unclip.pipeline.editing.inputs import load_image, plan_fit

    image = load_image(path, what)
    note(f"{what} {path}: {plan_fit(image.size, size, fit).describe()}")  # type: ignore[arg-type]
    return image


def add_inpaint_options(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("inpainting")
    g.add_argument(
        "--method",
        choices=("auto", "trained", "zero-shot"),
        default="auto",
        help="trained: the model's inpainting networks; zero-shot: RePaint on the plain cascade; "
        "auto (default): the method the model names as its better one (sampling.edit_method; for "
        "outpaint sampling.outpaint_method first), else trained when the model has them",
    )
    g.add_argument(
        "--resample",
        type=int,
        default=None,
        metavar="R",
        help="RePaint passes per decoder step (default 3 at every step for zero-shot; 2 for trained, in "
        "the late half of the steps only)",
    )
    g.add_argument(
        "--blend",
        type=int,
        default=None,
        metavar="PX",
        help="seam softening band inside the edited area, in px (default size/32; 0: off)",
    )
    g.add_argument(
        "--context-weight",
        type=float,
        default=None,
        metavar="W",
        help="0..1: how far the fill's CLIP image embedding leans from the prompt (0) toward the kept "
        "picture (1); default: the model's sampling.edit_context",
    )


def run(args: argparse.Namespace) -> int:
    from unclip.pipeline.editing.inputs import load_image

    check_text(args.prompt, "prompt")
    image = load_and_explain("image", args.image, args.size, args.fit)
    mask = load_image(args.mask, "mask") if args.mask is not None else None  # checked before the model loads
    check_out_dir(args.out)
    pipe = load_pipeline(args)
    images = pipe.edit(
        image,
        mask,
        args.prompt,
        n=args.n,
        size=args.size,
        seed=args.seed,
        method=args.method,
        progress=True,
        mask_mode=args.mask_mode,
        fit=args.fit,
        resample=args.resample,
        blend=args.blend,
        context_weight=args.context_weight,
        **stage_settings(args),
    )
    stem = "edit-" + slug(args.prompt) + (f"-s{args.seed}" if args.seed is not None else "")
    for path in write_images(images, Path(args.out), stem, pipe.provenance):
        print(path)
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "edit",
        help="inpaint: regenerate the masked area of an image to fit a prompt",
        description="Regenerate the masked area of IMAGE to fit PROMPT and its surroundings; pixels outside "
        "the mask are returned unchanged. Mask conventions (--mask-mode): alpha (default; DALL-E 2's: the "
        "mask's fully transparent pixels mark the area to edit; without --mask, the image's own "
        "transparent pixels), white-edits (a black-and-white mask, white = edit), black-edits "
        "(black = edit). Any size and aspect ratio is accepted: the image is centre-cropped (or padded, "
        "--fit pad) to a square and resized to --size; the mask follows.",
    )
    p.add_argument("image", help="the image to edit (PNG, JPEG, ...)")
    p.add_argument("prompt", help="what the edited area should show (the whole picture's caption works best)")
    p.add_argument("--mask", default=None, help="mask image of the same size as IMAGE")
    p.add_argument(
        "--mask-mode",
        choices=("alpha", "white-edits", "black-edits"),
        default="alpha",
        help="how the mask marks the area to edit (default: alpha)",
    )
    p.add_argument("-n", type=int, default=1, help="number of results (default 1)")
    add_output_options(p)
    add_fit_option(p)
    add_inpaint_options(p)
    add_model_options(p)
    add_provenance_options(p)
    add_stage_options(p)
    p.set_defaults(func=run)
