"""`unclip convert karlo SRC_DIR OUT_DIR`: turn third-party weights into an unclip model directory."""

from __future__ import annotations

import argparse
import sys
import time

from unclip.cli.common import DTYPES, torch_dtype


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "convert",
        help="convert third-party weights (Karlo) into an unclip model directory",
        description="Convert third-party weights into an unclip model directory.",
    )
    kinds = p.add_subparsers(dest="kind", metavar="KIND", required=True)
    k = kinds.add_parser(
        "karlo",
        help="kakaobrain's Karlo (diffusers layout: karlo-v1-alpha, karlo-v1-alpha-image-variations)",
        description="Convert kakaobrain's Karlo in diffusers layout (a download of kakaobrain/karlo-v1-alpha "
        "and/or kakaobrain/karlo-v1-alpha-image-variations) into an unclip model directory. "
        "See docs/KARLO.md.",
    )
    k.add_argument("src", metavar="SRC_DIR", help="the Karlo diffusers directory")
    k.add_argument("out", metavar="OUT_DIR", help="the unclip model directory to write")
    k.add_argument(
        "--with",
        dest="with_dirs",
        action="append",
        default=[],
        metavar="DIR",
        help="another Karlo directory to take components SRC_DIR lacks from (repeatable): e.g. the "
        "image-variations download for the image encoder, or karlo-v1-alpha for the prior",
    )
    k.add_argument(
        "--upsampler-1024",
        metavar="MODEL_DIR",
        default=None,
        help="an unclip model directory whose 256->1024 upsampler to add (enables 512 and 1024 px)",
    )
    k.add_argument(
        "--dtype",
        choices=sorted(DTYPES),
        default=None,
        help="store weights in this precision (default: as converted, fp32); fp16 halves the size",
    )
    k.add_argument("--overwrite", action="store_true", help="write into OUT_DIR even if it is not empty")
    k.set_defaults(func=run_karlo)


def run_karlo(args: argparse.Namespace) -> int:
    from unclip.convert.karlo import convert_karlo_dir

    start = time.perf_counter()
    report = convert_karlo_dir(
        args.src,
        args.out,
        with_dirs=args.with_dirs,
        upsampler_1024=args.upsampler_1024,
        dtype=torch_dtype(args.dtype),
        overwrite=args.overwrite,
    )
    print(f"wrote {args.out} in {time.perf_counter() - start:.0f} s")
    print(report.summary())
    sys.stdout.flush()
    return 0
