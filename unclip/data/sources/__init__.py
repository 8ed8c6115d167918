"""Dataset builders from image-text data that installs from package registries (npm, Debian).

One module per source: `emoji_datasource` (Google and Twitter emoji PNGs), `noto` (the Noto Color
Emoji font), `fluent` (Fluent 3D emoji WebP), `openclipart` (public-domain SVG clip art), `photos`
(photographs and cutouts from Debian). `builders` combines them into `unclip data emoji` / `clipart` /
`photos`; `writer` writes the dataset folder.
"""

from unclip.data.sources.base import DataSourceError, SourceInstallError, SourceMissingError
from unclip.data.sources.builders import (
    CLIPART_SOURCES,
    EMOJI_STYLES,
    EXTRA_EMOJI_STYLES,
    PHOTO_SOURCES,
    build_clipart,
    build_emoji,
    build_photos,
)
from unclip.data.sources.cache import SourceCache, default_cache_dir
from unclip.data.sources.writer import BuildReport

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
