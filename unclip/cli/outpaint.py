"""`unclip outpaint IMAGE "prompt" --left 256 --right 256` or `--frame X,Y`: extend a picture."""

from __future__ import annotations

import argparse
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
from unclip.cli.edit import add_inpaint_options, note
from unclip.errors import InputError


def parse_frame(text: str) -> tuple[int, int]:
    try:
        x, y = (int(v) for v in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected X,Y in pixels (e.g. 512,-256), got {text!r}") from None
    return x, y


def run(args: argparse.Namespace) -> int:
    from unclip.pipeline.editing.inputs import load_image
    from unclip.pipeline.editing.outpaint import plan_outpaint

    check_text(args.prompt, "prompt")
    image = load_image(args.image, "image")
    check_out_dir(args.out)
    pipe = load_pipeline(args)
    size = args.frame_size or pipe.max_size
    if size > pipe.max_size:
        raise InputError(f"--frame-size: {size} is larger than this model's largest output ({pipe.max_size})")
    margins = {"left": args.left, "right": args.right, "top": args.top, "bottom": args.bottom}
    plan = plan_outpaint(image, frame=args.frame, size=size, overlap=args.overlap, **margins)
    note(f"image {args.image}: {plan.describe(image.size)}")
    images = pipe.outpaint(
        image,
        prompt=args.prompt,
        n=args.n,
        size=size,
        seed=args.seed,
        frame=args.frame,
        method=args.method,
        progress=True,
        overlap=args.overlap,
        resample=args.resample,
        blend=args.blend,
        context_weight=args.context_weight,
        **margins,
        **stage_settings(args),
    )
    stem = (
        "outpaint-"
        + slug(args.prompt or Path(args.image).stem)
        + (f"-s{args.seed}" if args.seed is not None else "")
    )
    for path in write_images(images, Path(args.out), stem, pipe.provenance):
        print(path)
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "outpaint",
        help="extend an image beyond its borders, or fill a generation frame on a larger canvas",
        description="Extend IMAGE by --left/--right/--top/--bottom pixels, or fill one square generation frame "
        "placed at --frame X,Y relative to the image's top-left corner (DALL-E 2's editor; negative values "
        "reach left of / above the image; the result is an RGBA canvas whose unfilled part stays "
        "transparent, so it can be fed back for the next frame). The picture keeps its resolution and its "
        "exact pixels; canvases larger than a frame are filled frame by frame, each conditioned on what "
        "is already there. Transparent pixels of an RGBA IMAGE are filled too.",
    )
    p.add_argument("image", help="the picture (or a partly transparent canvas)")
    p.add_argument(
        "prompt",
        nargs="?",
        default="",
        help="caption of the whole extended picture (default: none; the picture's own CLIP embedding guides)",
    )
    for side in ("left", "right", "top", "bottom"):
        p.add_argument(f"--{side}", type=int, default=0, metavar="PX", help=f"pixels to add on the {side}")
    p.add_argument(
        "--frame", type=parse_frame, default=None, metavar="X,Y", help="place one generation frame at X,Y"
    )
    p.add_argument(
        "--frame-size",
        type=int,
        choices=(64, 256, 512, 1024),
        default=None,
        help="generation frame side in px (default: the model's largest size, 1024)",
    )
    p.add_argument(
        "--overlap",
        type=int,
        default=None,
        metavar="PX",
        help="least overlap between neighbouring frames (default frame-size/4)",
    )
    p.add_argument("-n", type=int, default=1, help="number of candidates (default 1)")
    p.add_argument(
        "--seed", type=seed_int, default=None, help="random seed: the same seed gives the same images"
    )
    p.add_argument("-o", "--out", default="out", help="output folder (default ./out)")
    add_inpaint_options(p)
    add_model_options(p)
    add_provenance_options(p)
    add_stage_options(p)
    p.set_defaults(func=run)
