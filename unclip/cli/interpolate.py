"""`unclip interpolate A B --frames 8`: a sequence of images morphing from A to B."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from unclip.cli.common import (
    add_model_options,
    add_provenance_options,
    add_stage_options,
    check_out_dir,
    load_pipeline,
    prepare_out_dir,
    save_png,
    slug,
    stage_settings,
)
from unclip.cli.edit import DECODER_STAGES, add_fit_option, add_output_options, load_and_explain
from unclip.errors import InputError


def write_sequence(
    images: list,
    out_dir: Path,
    stem: str,
    gif: bool = False,  # type: ignore[type-arg]
    provenance: Any = None,
) -> list[Path]:
    """Frames as STEM-f00.png, STEM-f01.png, ... (STEM-2-f00.png, ... if STEM is taken), and STEM.gif."""
    prepare_out_dir(out_dir)
    base, k = stem, 1
    while any(out_dir.glob(f"{glob_escape(stem)}-f*.png")) or (out_dir / f"{stem}.gif").exists():
        k += 1
        stem = f"{base}-{k}"
    paths = []
    for i, image in enumerate(images):
        path = out_dir / f"{stem}-f{i:02d}.png"
        save_png(image, path, provenance)
        paths.append(path)
    if gif:
        path = out_dir / f"{stem}.gif"
        if provenance is not None:  # marked frames and a signed C2PA manifest, like the PNGs
            provenance.write(provenance.gif(images), path)
        else:
            try:
                images[0].save(
                    path, save_all=True, append_images=images[1:] + images[-2:0:-1], duration=150, loop=0
                )
            except OSError as e:
                raise InputError(f"{path}: cannot write ({e.strerror or e})") from None
        paths.append(path)
    return paths


def glob_escape(text: str) -> str:
    return "".join(f"[{c}]" if c in "*?[]" else c for c in text)


def run(args: argparse.Namespace) -> int:
    a = load_and_explain("image A", args.a, args.size, args.fit)
    b = load_and_explain("image B", args.b, args.size, args.fit)
    check_out_dir(args.out)
    pipe = load_pipeline(args)
    images = pipe.interpolate(
        a,
        b,
        frames=args.frames,
        size=args.size,
        seed=args.seed,
        noise=args.noise,
        progress=True,
        fit=args.fit,
        **stage_settings(args),
    )
    stem = f"interp-{slug(Path(args.a).stem, 20)}-{slug(Path(args.b).stem, 20)}"
    for path in write_sequence(images, Path(args.out), stem, args.gif, pipe.provenance):
        print(path)
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "interpolate",
        help="interpolate between two images",
        description="Decode a slerp of the CLIP image embeddings of A and B, frame by frame, with the decoder "
        "noise fixed: by DDIM inversion of A (--noise invert, default), a slerp of the inverted noises of "
        "A and B (invert-both), or one random noise (random). The decoder runs DDIM with its step count.",
    )
    p.add_argument("a", help="first image")
    p.add_argument("b", help="second image")
    p.add_argument("--frames", type=int, default=8, help="number of frames, including A and B (default 8)")
    p.add_argument(
        "--noise",
        choices=("invert", "invert-both", "random"),
        default="invert",
        help="how the decoder noise is fixed (default invert)",
    )
    p.add_argument("--gif", action="store_true", help="also write an animated GIF (there and back)")
    add_output_options(p)
    add_fit_option(p)
    add_model_options(p)
    add_provenance_options(p)
    add_stage_options(p, DECODER_STAGES)
    p.set_defaults(func=run)
