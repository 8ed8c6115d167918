"""Reading emoji-datasource's emoji.json: names, short names, categories and image file names."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from unclip.data.sources.base import DataSourceError, Package
from unclip.data.sources.cache import SourceCache
from unclip.data.sources.captions import alt_emoji_captions, clean_emoji_name

# Packages with the same emoji.json; the first one in the cache supplies names to Noto and Fluent.
NAME_PACKAGES = (Package("npm", "emoji-datasource-google"), Package("npm", "emoji-datasource-twitter"))
SKIPPED_CATEGORIES = frozenset({"Component"})  # bare skin-tone swatches


@dataclass(frozen=True)
class EmojiEntry:
    name: str  # as in emoji.json, e.g. "GRINNING FACE WITH STAR EYES"
    caption: str  # cleaned, e.g. "grinning face with star eyes"
    alt_captions: tuple[str, ...]
    unified: str  # "1F929"
    image: str  # "1f929.png"
    category: str
    subcategory: str
    raw: dict[str, Any]

    @property
    def stem(self) -> str:
        return self.image.rsplit(".", 1)[0]

    @property
    def text(self) -> str:
        """The emoji itself as a string (fully qualified sequence)."""
        return "".join(chr(int(cp, 16)) for cp in self.unified.split("-"))


def load_entries(path: Path) -> list[EmojiEntry]:
    """All base emoji (no skin-tone variants, no Component swatches) of an emoji.json, in file order."""
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as err:
        raise DataSourceError(f"cannot read emoji list {path}: {err}") from err
    if not isinstance(raw, list):
        raise DataSourceError(f"{path}: expected a JSON list of emoji objects, got {type(raw).__name__}")
    out: list[EmojiEntry] = []
    for i, e in enumerate(raw):
        if not isinstance(e, dict):
            raise DataSourceError(f"{path}: entry {i} is not an object")
        name, image, unified = e.get("name"), e.get("image"), e.get("unified")
        if not (isinstance(name, str) and isinstance(image, str) and isinstance(unified, str)):
            raise DataSourceError(f"{path}: entry {i} lacks a string name, image or unified field")
        if e.get("category") in SKIPPED_CATEGORIES:
            continue
        shorts = [s for s in e.get("short_names") or [] if isinstance(s, str)]
        caption = clean_emoji_name(name, shorts)
        if not caption:
            continue
        out.append(
            EmojiEntry(
                name=name,
                caption=caption,
                alt_captions=alt_emoji_captions(caption, shorts),
                unified=unified,
                image=image,
                category=str(e.get("category") or ""),
                subcategory=str(e.get("subcategory") or ""),
                raw=e,
            )
        )
    return out


def names_package(cache: SourceCache) -> Package:
    """The emoji-datasource package whose emoji.json names the emoji (Google's unless only Twitter's is there)."""
    for pkg in NAME_PACKAGES:
        if cache.has(pkg):
            return pkg
    return NAME_PACKAGES[0]


def entry_extra(entry: EmojiEntry) -> dict[str, Any]:
    return {
        "name": entry.name,
        "unified": entry.unified,
        "category": entry.category,
        "subcategory": entry.subcategory,
    }
