"""`unclip vary IMAGE -n 4`: variations of an image (CLIP image embedding -> decoder, no prior)."""

from __future__ import annotations

import argparse
from pathlib import Path

from unclip.cli.common import (
    add_model_options,
    add_provenance_options,
    add_stage_options,
    check_out_dir,
    finite_float,
    load_pipeline,
    slug,
    stage_settings,
    write_images,
)
from unclip.cli.edit import DECODER_STAGES, add_fit_option, add_output_options, load_and_explain


def run(args: argparse.Namespace) -> int:
    from unclip.pipeline.editing.inputs import check_fraction

    check_fraction("--drift", args.drift)  # before the model loads
    if args.keep is not None:
        check_fraction("--keep", args.keep, below_one=True)
    image = load_and_explain("image", args.image, args.size, args.fit)
    check_out_dir(args.out)
    pipe = load_pipeline(args)
    images = pipe.vary(
        image,
        n=args.n,
        size=args.size,
        seed=args.seed,
        drift=args.drift,
        keep=args.keep,
        progress=True,
        fit=args.fit,
        **stage_settings(args),
    )
    stem = "vary-" + slug(Path(args.image).stem) + (f"-s{args.seed}" if args.seed is not None else "")
    for path in write_images(images, Path(args.out), stem, pipe.provenance):
        print(path)
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "vary",
        help="make variations of an image",
        description="Encode IMAGE with CLIP and decode the embedding N times: results that keep the image's "
        "content and style and differ in details. --drift 0..1 lets each result's embedding move toward "
        "its own random direction (0: decoder noise only, the paper's variations; 0.1-0.3: freer). --keep "
        "0..<1 starts the decoder from IMAGE itself noised (1 - keep) of the way, so results keep its layout "
        "and colours (0: from pure noise, the paper's variations).",
    )
    p.add_argument("image", help="the source image")
    p.add_argument("-n", type=int, default=4, help="number of variations (default 4)")
    p.add_argument(
        "--drift", type=finite_float, default=0.0, help="how far the embedding may drift, 0..1 (default 0)"
    )
    p.add_argument(
        "--keep",
        type=finite_float,
        default=None,
        help="how much of the image's layout the decoder starts from, 0..<1 (0: pure noise; default: the "
        "model's sampling.vary_keep, 0.3 for the default model)",
    )
    add_output_options(p)
    add_fit_option(p)
    add_model_options(p)
    add_provenance_options(p)
    add_stage_options(p, DECODER_STAGES)
    p.set_defaults(func=run)
