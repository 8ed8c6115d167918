"""`unclip data ...`: build training datasets from sources that install from package registries."""

from __future__ import annotations

import argparse
import os
import sys
from typing import TYPE_CHECKING, Any

# the names and the cache only: the builders are imported when a build runs (see unclip.data.sources)
from unclip.data.sources import (
    CLIPART_SOURCES,
    EMOJI_STYLES,
    EXTRA_EMOJI_STYLES,
    PHOTO_SOURCES,
    DataSourceError,
    SourceCache,
    default_cache_dir,
)

if TYPE_CHECKING:
    from unclip.data.sources.writer import BuildReport


def _log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "out_dir", metavar="OUT_DIR", help="folder to write images/, metadata.jsonl, ATTRIBUTION.md"
    )
    p.add_argument(
        "--install",
        action="store_true",
        help="fetch missing source packages with npm / apt-get download into the cache",
    )
    p.add_argument(
        "--cache",
        metavar="DIR",
        default=None,
        help=f"source package cache (default {default_cache_dir()}; env UNCLIP_SOURCES_CACHE)",
    )
    p.add_argument(
        "--holdout",
        type=float,
        default=0.1,
        help="fraction of concepts held out of training, chosen by a hash of the concept (default 0.1)",
    )
    p.add_argument(
        "--limit", type=int, default=None, metavar="N", help="at most N images per style (quick tries)"
    )
    p.add_argument(
        "--workers",
        type=int,
        default=min(4, os.cpu_count() or 1),
        help="processes rendering images (default: up to 4)",
    )
    p.add_argument("--overwrite", action="store_true", help="replace a dataset already in OUT_DIR")


def _choose(p: argparse.ArgumentParser, flag: str, names: tuple[str, ...]) -> None:
    """A comma-separated subset of `names` (default: all)."""
    what = flag.removeprefix("--")
    p.add_argument(flag, default=",".join(names), help=f"comma-separated {what} (default {','.join(names)})")


def _common_kwargs(args: argparse.Namespace) -> dict[str, Any]:
    """The builder arguments every `unclip data SOURCE` shares."""
    return {
        "cache": SourceCache(args.cache),
        "install": args.install,
        "size": args.size,
        "holdout": args.holdout,
        "limit": args.limit,
        "workers": args.workers,
        "overwrite": args.overwrite,
        "log": _log,
        "hint": f"run again with --install{' --cache ' + args.cache if args.cache else ''}",
    }


def _print(report: BuildReport) -> int:
    print("\n".join(report.lines()))
    return 0


def _run_emoji(args: argparse.Namespace) -> int:
    from unclip.data.sources.builders import build_emoji

    return _print(build_emoji(args.out_dir, args.styles, **_common_kwargs(args)))


def _run_clipart(args: argparse.Namespace) -> int:
    from unclip.data.sources.builders import build_clipart

    return _print(build_clipart(args.out_dir, args.sources, **_common_kwargs(args)))


def _run_photos(args: argparse.Namespace) -> int:
    from unclip.data.sources.builders import build_photos

    return _print(build_photos(args.out_dir, args.sources, crops=args.crops, **_common_kwargs(args)))


def _run_mix(args: argparse.Namespace) -> int:
    from unclip.data.mix import mix_datasets

    repeats = None
    if args.repeat:
        try:
            repeats = [int(r) for r in args.repeat.split(",")]
        except ValueError:
            raise DataSourceError(
                f"--repeat {args.repeat!r}: give comma-separated whole numbers, one per dataset"
            ) from None
    counts = mix_datasets(args.out_dir, args.datasets, repeats, args.overwrite)
    for name, n in counts.items():
        print(f"  {name:<14} {n} rows")
    print(
        f"wrote {args.out_dir}/metadata.jsonl ({sum(counts.values())} rows); "
        f'train on it with data.source = "{args.out_dir}"'
    )
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    data = subparsers.add_parser("data", help="build image-caption datasets from offline-installable sources")
    sub = data.add_subparsers(dest="data_command", metavar="SOURCE")
    data.set_defaults(func=lambda _args: (data.print_help(), 2)[1])

    emoji = sub.add_parser(
        "emoji",
        help="emoji with their names as captions (64 px by default)",
        description="Emoji images captioned with their Unicode names, in several art styles.",
    )
    _common(emoji)
    _choose(emoji, "--styles", EMOJI_STYLES)
    emoji.add_argument_group(
        "more styles",
        f"also accepted by --styles: {', '.join(EXTRA_EMOJI_STYLES)} (the independent judge's data; "
        "openmoji is CC-BY-SA, never for shipped weights)",
    )
    emoji.add_argument("--size", type=int, default=64, help="output side in px (default 64)")
    emoji.set_defaults(func=_run_emoji)

    clip = sub.add_parser(
        "clipart",
        help="high-resolution clip art for the upsamplers (256 or 1024 px)",
        description="Fluent 3D emoji at their native 256 px and public-domain Open Clip Art "
        "SVGs rendered at 256 or 1024 px.",
    )
    _common(clip)
    _choose(clip, "--sources", CLIPART_SOURCES)
    clip.add_argument(
        "--size", type=int, choices=(256, 1024), default=1024, help="output side in px (default 1024)"
    )
    clip.set_defaults(func=_run_clipart)

    photo = sub.add_parser(
        "photos",
        help="photo crops and object cutouts (training data for the inpainting models)",
        description="Square crops of the nature photographs in Debian's mate-backgrounds and the "
        "object cutouts of tuxpaint-stamps-default, with captions. None of the editing benchmark's "
        "photos is among them.",
    )
    _common(photo)
    _choose(photo, "--sources", PHOTO_SOURCES)
    photo.add_argument("--size", type=int, default=64, help="output side in px (default 64)")
    photo.add_argument(
        "--crops", type=int, default=150, help="square crops per background photo (default 150)"
    )
    photo.set_defaults(func=_run_photos)

    mix = sub.add_parser(
        "mix",
        help="one manifest over several datasets (train on them together)",
        description="Write OUT_DIR/metadata.jsonl listing the rows of each dataset (images stay where "
        "they are) and their joined ATTRIBUTION.md.",
    )
    mix.add_argument("out_dir", metavar="OUT_DIR")
    mix.add_argument("datasets", metavar="DATASET", nargs="+", help="folders written by `unclip data`")
    mix.add_argument(
        "--repeat", default="", help="comma-separated repeat count per dataset, e.g. 1,2 (default 1 each)"
    )
    mix.add_argument("--overwrite", action="store_true", help="replace a mix already in OUT_DIR")
    mix.set_defaults(func=_run_mix)
