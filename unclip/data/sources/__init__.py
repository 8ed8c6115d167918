"""Dataset builders from image-text data that installs from package registries (npm, Debian).

One module per source: `emoji_datasource` (Google and Twitter emoji PNGs), `noto` (the Noto Color
Emoji font), `fluent` (Fluent 3D emoji WebP), `openclipart` (public-domain SVG clip art). `builders`
combines them into `unclip data emoji` / `unclip data clipart`; `writer` writes the dataset folder.
"""

from unclip.data.sources.base import DataSourceError, SourceInstallError, SourceMissingError
from unclip.data.sources.builders import CLIPART_SOURCES, EMOJI_STYLES, build_clipart, build_emoji
from unclip.data.sources.cache import SourceCache, default_cache_dir
from unclip.data.sources.writer import BuildReport

__all__ = [
    "CLIPART_SOURCES",
    "EMOJI_STYLES",
    "BuildReport",
    "DataSourceError",
    "SourceCache",
    "SourceInstallError",
    "SourceMissingError",
    "build_clipart",
    "build_emoji",
    "default_cache_dir",
]
