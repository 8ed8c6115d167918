"""OpenMoji: colour SVGs named by codepoint (`color/svg/1F600.svg`) in the openmoji npm package.

OpenMoji is CC-BY-SA-4.0 (share-alike), so it is not meant for shipped model weights (../shared/DATA.md);
the project uses it as the style that the independent judge never trains on, to measure how well the
judge recognises a concept drawn in a style it has not seen. Names are joined from emoji.json by codepoint.
Its `data/openmoji.csv` also gives each codepoint's CLDR short name, which `iconify` uses to find icons.
"""

from __future__ import annotations

import csv
from pathlib import Path

from unclip.data.sources.base import Collected, DataSourceError, Item, Package, SourceInfo
from unclip.data.sources.cache import SourceCache
from unclip.data.sources.emoji_json import entry_extra, load_entries, names_package

PACKAGE = Package("npm", "openmoji")
LICENSE = "CC-BY-SA-4.0"
ATTRIBUTION = (
    "OpenMoji, the open-source emoji and icon project (https://openmoji.org), licensed under CC BY-SA 4.0 "
    "(https://creativecommons.org/licenses/by-sa/4.0/). Share-alike: anything built from these images must "
    "carry the same licence. Names joined from emoji-datasource's emoji.json (MIT). Changed: rendered, "
    "composited onto white and resized."
)


def without_fe0f(code: str) -> str:
    """A codepoint sequence, lower case, without U+FE0F variation selectors ("2764-fe0f" -> "2764")."""
    return "-".join(p for p in code.lower().split("-") if p != "fe0f")


def packages(cache: SourceCache) -> list[Package]:
    return [PACKAGE, names_package(cache)]


def cldr_names(cache: SourceCache) -> dict[str, str]:
    """Codepoint sequence (without FE0F) -> CLDR short name ("1f34e" -> "red apple")."""
    path = cache.npm_dir(PACKAGE.name) / "data" / "openmoji.csv"
    try:
        with path.open(encoding="utf-8", newline="") as f:
            return {
                without_fe0f(r["hexcode"]): r["annotation"] for r in csv.DictReader(f) if r.get("annotation")
            }
    except (OSError, KeyError, csv.Error, UnicodeDecodeError) as e:
        raise DataSourceError(f"cannot read the OpenMoji name list {path}: {e}") from e


def collect(cache: SourceCache) -> Collected:
    svg_dir = cache.npm_dir(PACKAGE.name) / "color" / "svg"
    info = SourceInfo("openmoji", PACKAGE, cache.version(PACKAGE), LICENSE, ATTRIBUTION)
    collected = Collected(info, [])
    files: dict[str, Path] = {}
    if svg_dir.is_dir():
        for f in svg_dir.iterdir():
            if f.suffix.lower() == ".svg":
                files.setdefault(without_fe0f(f.stem), f)
    names = names_package(cache)
    for entry in load_entries(cache.npm_dir(names.name) / "emoji.json"):
        path = files.get(without_fe0f(entry.unified))
        if path is None:
            collected.filtered["no openmoji image for this emoji"] += 1
            continue
        collected.items.append(
            Item(
                "openmoji",
                entry.stem,
                entry.caption,
                entry.caption,
                "svg",
                str(path),
                alt_captions=entry.alt_captions,
                extra=entry_extra(entry),
            )
        )
    return collected
