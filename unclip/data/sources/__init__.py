"""Dataset builders from image-text data that installs from package registries (npm, Debian).

One module per source: `emoji_datasource` (Google and Twitter emoji PNGs), `noto` (the Noto Color
Emoji font), `fluent` (Fluent 3D emoji WebP), `openclipart` (public-domain SVG clip art), `photos`
(photographs and cutouts from Debian). `builders` combines them into `unclip data emoji` / `clipart` /
`photos`; `writer` writes the dataset folder.

The builders and the report are imported when first used, so that the CLI's argument parser (which
lists the `names`) costs every `unclip` command, `generate` included, none of their imports.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from unclip.data.sources.base import DataSourceError, SourceInstallError, SourceMissingError
from unclip.data.sources.cache import SourceCache, default_cache_dir
from unclip.data.sources.names import CLIPART_SOURCES, EMOJI_STYLES, EXTRA_EMOJI_STYLES, PHOTO_SOURCES

if TYPE_CHECKING:
    from unclip.data.sources.builders import build_clipart, build_emoji, build_photos
    from unclip.data.sources.writer import BuildReport

_LAZY = {
    "build_clipart": "builders",
    "build_emoji": "builders",
    "build_photos": "builders",
    "BuildReport": "writer",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(f"{__name__}.{_LAZY[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "CLIPART_SOURCES",
    "EMOJI_STYLES",
    "EXTRA_EMOJI_STYLES",
    "PHOTO_SOURCES",
    "BuildReport",
    "DataSourceError",
    "SourceCache",
    "SourceInstallError",
    "SourceMissingError",
    "build_clipart",
    "build_emoji",
    "build_photos",
    "default_cache_dir",
]
