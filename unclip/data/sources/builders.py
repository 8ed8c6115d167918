"""The dataset builders behind `unclip data emoji`, `unclip data clipart` and `unclip data photos`."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

from unclip.data.sources import emoji_datasource, fluent, iconify, noto, openclipart, openmoji, photos
from unclip.data.sources.base import Collected, DataSourceError, Package
from unclip.data.sources.cache import SourceCache
from unclip.data.sources.names import (
    CLIPART_SIZES,
    CLIPART_SOURCES,
    EMOJI_STYLES,
    EXTRA_EMOJI_STYLES,
    PHOTO_SOURCES,
)
from unclip.data.sources.render import svg_renderer_available
from unclip.data.sources.writer import BuildReport, build_dataset


def parse_list(value: str | Sequence[str], allowed: Sequence[str], what: str) -> list[str]:
    names = [s.strip().lower() for s in (value.split(",") if isinstance(value, str) else value) if s.strip()]
    unknown = [n for n in names if n not in allowed]
    if unknown or not names:
        raise DataSourceError(
            f"unknown {what} {', '.join(unknown) or '(none given)'}: choose from {', '.join(allowed)}"
        )
    return list(dict.fromkeys(names))


def check_options(size: int, holdout: float, limit: int | None, workers: int) -> None:
    if not 8 <= size <= 4096:
        raise DataSourceError(f"--size {size} is out of range: use 8 to 4096 px")
    if not 0 <= holdout < 1:
        raise DataSourceError(f"--holdout {holdout} is out of range: use a fraction in [0, 1), e.g. 0.1")
    if limit is not None and limit < 1:
        raise DataSourceError(f"--limit {limit} must be at least 1")
    if workers < 1:
        raise DataSourceError(f"--workers {workers} must be at least 1")


def _emoji_packages(style: str, cache: SourceCache) -> list[Package]:
    if style in emoji_datasource.STYLES:
        return emoji_datasource.packages(style)
    if style in iconify.SETS:
        return iconify.packages(style, cache)
    if style == "openmoji":
        return openmoji.packages(cache)
    return noto.packages(cache) if style == "noto" else fluent.packages(cache)


def _collect_emoji(style: str, cache: SourceCache) -> Collected:
    if style in emoji_datasource.STYLES:
        return emoji_datasource.collect(style, cache)
    if style in iconify.SETS:
        return iconify.collect(style, cache)
    if style == "openmoji":
        return openmoji.collect(cache)
    return noto.collect(cache) if style == "noto" else fluent.collect(cache)


def build_emoji(
    out_dir: str | Path,
    styles: str | Sequence[str] = EMOJI_STYLES,
    cache: SourceCache | None = None,
    install: bool = False,
    size: int = 64,
    holdout: float = 0.1,
    limit: int | None = None,
    workers: int = 1,
    overwrite: bool = False,
    log: Callable[[str], None] = print,
    hint: str = "run again with --install",
) -> BuildReport:
    chosen = parse_list(styles, EMOJI_STYLES + EXTRA_EMOJI_STYLES, "emoji style(s)")
    check_options(size, holdout, limit, workers)
    cache = cache or SourceCache()
    needed = [p for s in chosen for p in _emoji_packages(s, cache)]
    cache.ensure(needed, install, hint=hint, log=log)
    sources = [_collect_emoji(s, cache) for s in chosen]
    return build_dataset(sources, out_dir, size, holdout, limit, workers, overwrite, log)


def build_clipart(
    out_dir: str | Path,
    sources: str | Sequence[str] = CLIPART_SOURCES,
    cache: SourceCache | None = None,
    install: bool = False,
    size: int = 1024,
    holdout: float = 0.1,
    limit: int | None = None,
    workers: int = 1,
    overwrite: bool = False,
    log: Callable[[str], None] = print,
    hint: str = "run again with --install",
) -> BuildReport:
    chosen = parse_list(sources, CLIPART_SOURCES, "clip-art source(s)")
    if size not in CLIPART_SIZES:
        raise DataSourceError(f"--size {size}: clip art is built at 256 or 1024 px")
    check_options(size, holdout, limit, workers)
    if "fluent" in chosen and size > fluent.NATIVE_SIZE:
        log(f"fluent: left out at {size} px (its images are {fluent.NATIVE_SIZE} px and are not upscaled)")
        chosen.remove("fluent")
        if not chosen:
            raise DataSourceError(
                f"fluent images are {fluent.NATIVE_SIZE} px: use --size 256, or add openclipart"
            )
    if "openclipart" in chosen and not svg_renderer_available():
        raise DataSourceError("openclipart needs an SVG renderer: pip install resvg-py")
    cache = cache or SourceCache()
    needed = [
        p for s in chosen for p in (fluent.packages(cache) if s == "fluent" else openclipart.packages())
    ]
    cache.ensure(needed, install, hint=hint, log=log)
    collected = [fluent.collect(cache) if s == "fluent" else openclipart.collect(cache) for s in chosen]
    return build_dataset(collected, out_dir, size, holdout, limit, workers, overwrite, log)


def build_photos(
    out_dir: str | Path,
    sources: str | Sequence[str] = PHOTO_SOURCES,
    cache: SourceCache | None = None,
    install: bool = False,
    size: int = 64,
    crops: int = 150,
    holdout: float = 0.1,
    limit: int | None = None,
    workers: int = 1,
    overwrite: bool = False,
    log: Callable[[str], None] = print,
    hint: str = "run again with --install",
) -> BuildReport:
    """Photo crops and object cutouts (see :mod:`unclip.data.sources.photos`); `crops` per background photo."""
    chosen = parse_list(sources, PHOTO_SOURCES, "photo source(s)")
    check_options(size, holdout, limit, workers)
    if crops < 1:
        raise DataSourceError(f"--crops {crops} must be at least 1")
    cache = cache or SourceCache()
    cache.ensure(photos.packages(chosen), install, hint=hint, log=log)
    collected = [
        photos.collect_backgrounds(cache, crops) if s == "backgrounds" else photos.collect_tuxpaint(cache)
        for s in chosen
    ]
    return build_dataset(collected, out_dir, size, holdout, limit, workers, overwrite, log)
