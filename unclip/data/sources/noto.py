"""Noto Color Emoji: the Debian fonts-noto-color-emoji font, each emoji drawn with Pillow.

Names come from an emoji-datasource emoji.json in the cache (so concepts match the other styles);
without one, every single-codepoint emoji with a glyph in the font is named with unicodedata.
"""

from __future__ import annotations

import unicodedata
from pathlib import Path

from unclip.data.sources.base import Collected, DataSourceError, Item, Package, SourceInfo
from unclip.data.sources.cache import SourceCache
from unclip.data.sources.captions import clean_emoji_name
from unclip.data.sources.emoji_json import entry_extra, load_entries, names_package

PACKAGE = Package("apt", "fonts-noto-color-emoji")
FONT_PATH = Path("usr/share/fonts/truetype/noto/NotoColorEmoji.ttf")
FONT_SIZE = 109  # the bitmap strike: the only size FreeType loads this font at
LICENSE = "Apache-2.0 (images), OFL-1.1 (font)"
ATTRIBUTION = (
    "Rendered from the Noto Color Emoji font (Debian package fonts-noto-color-emoji), Copyright 2013-2017 "
    "Google Inc. and Arjen Nienhuis. Emoji images licensed under the Apache License 2.0 "
    "(https://www.apache.org/licenses/LICENSE-2.0); the font under the SIL Open Font License 1.1 "
    "(https://openfontlicense.org). Changed: rendered with Pillow, composited onto white and resized."
)


def packages(cache: SourceCache) -> list[Package]:
    return [PACKAGE, names_package(cache)]


def font_file(cache: SourceCache) -> Path:
    path = cache.apt_root / FONT_PATH
    if not path.is_file():
        raise DataSourceError(
            f"{PACKAGE.name} is in the cache but {path} is missing: fetch it again with --install"
        )
    return path


def collect(cache: SourceCache) -> Collected:
    font = font_file(cache)
    info = SourceInfo("noto", PACKAGE, cache.version(PACKAGE), LICENSE, ATTRIBUTION)
    collected = Collected(info, [])
    names = names_package(cache)
    if cache.has(names):
        for entry in load_entries(cache.npm_dir(names.name) / "emoji.json"):
            collected.items.append(
                Item(
                    "noto",
                    entry.stem,
                    entry.caption,
                    entry.caption,
                    "font",
                    str(font),
                    text=entry.text,
                    alt_captions=entry.alt_captions,
                    extra=entry_extra(entry),
                )
            )
    else:
        collected.notes.append("no emoji.json in the cache: named single-codepoint emoji with unicodedata")
        collected.items.extend(_from_cmap(font))
    return collected


def _from_cmap(font: Path) -> list[Item]:
    """Single-codepoint emoji (U+1F000 and up, plus the symbol blocks) that the font has; no regional letters."""
    from PIL import ImageFont

    face = ImageFont.truetype(str(font), FONT_SIZE)
    items: list[Item] = []
    for cp in [*range(0x2100, 0x2C00), *range(0x1F000, 0x1FB00)]:
        name = unicodedata.name(chr(cp), "")
        if not name or unicodedata.category(chr(cp)) in ("Sk", "Mn") or 0x1F1E6 <= cp <= 0x1F1FF:
            continue
        if face.getmask(chr(cp)).getbbox() is None:
            continue
        caption = clean_emoji_name(name)
        items.append(
            Item(
                "noto",
                f"{cp:04x}",
                caption,
                caption,
                "font",
                str(font),
                text=chr(cp),
                extra={"name": name, "unified": f"{cp:04X}"},
            )
        )
    return items
