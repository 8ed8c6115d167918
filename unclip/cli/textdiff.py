"""`unclip textdiff IMAGE "from caption" "to caption"`: edit an image by a change of caption."""

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
    slug,
    stage_settings,
)
from unclip.cli.edit import DECODER_STAGES, add_fit_option, add_output_options, load_and_explain
from unclip.cli.interpolate import write_sequence


def run(args: argparse.Namespace) -> int:
    check_text(args.from_caption, "FROM caption")
    check_text(args.to_caption, "TO caption")
    image = load_and_explain("image", args.image, args.size, args.fit)
    check_out_dir(args.out)
    pipe = load_pipeline(args)
    images = pipe.text_diff(
        image,
        args.from_caption,
        args.to_caption,
        frames=args.frames,
        strength=args.strength,
        size=args.size,
        seed=args.seed,
        progress=True,
        fit=args.fit,
        **stage_settings(args),
    )
    stem = f"textdiff-{slug(args.from_caption, 20)}-to-{slug(args.to_caption, 20)}"
    for path in write_sequence(images, Path(args.out), stem, args.gif, pipe.provenance):
        print(path)
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "textdiff",
        help="change an image by moving from one caption to another",
        description="Move IMAGE's CLIP embedding toward normalize(text(TO) - text(FROM)) by slerp, in FRAMES "
        "steps up to --strength (the paper uses up to 0.5), decoding each frame from the image's "
        "DDIM-inverted decoder noise so that only the described change happens.",
    )
    p.add_argument("image", help="the source image")
    p.add_argument("from_caption", metavar="FROM", help="a caption of the image as it is")
    p.add_argument("to_caption", metavar="TO", help="the caption it should move toward")
    p.add_argument(
        "--frames",
        type=int,
        default=5,
        help="number of frames, the first being the reconstruction (default 5)",
    )
    p.add_argument(
        "--strength",
        type=float,
        default=0.5,
        help="slerp angle fraction of the last frame, 0..1 (default 0.5)",
    )
    p.add_argument("--gif", action="store_true", help="also write an animated GIF (there and back)")
    add_output_options(p)
    add_fit_option(p)
    add_model_options(p)
    add_provenance_options(p)
    add_stage_options(p, DECODER_STAGES)
    p.set_defaults(func=run)
