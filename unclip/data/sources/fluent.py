"""Microsoft Fluent Emoji 3D: 256x256 WebP files named by codepoint in @lobehub/fluent-emoji-3d.

The package has no names: each file is joined to an emoji-datasource emoji.json entry by its `image`
field ("1f436.png" <-> "1f436.webp"), also trying the sequence without U+FE0F selectors.
"""

from __future__ import annotations

from pathlib import Path

from unclip.data.sources.base import Collected, Item, Package, SourceInfo
from unclip.data.sources.cache import SourceCache
from unclip.data.sources.emoji_json import entry_extra, load_entries, names_package

PACKAGE = Package("npm", "@lobehub/fluent-emoji-3d")
NATIVE_SIZE = 256
LICENSE = "MIT"
ATTRIBUTION = (
    "Fluent Emoji (3D style), Copyright (c) Microsoft Corporation, licensed under the MIT License "
    "(https://github.com/microsoft/fluentui-emoji); packaged for npm as @lobehub/fluent-emoji-3d by "
    "LobeHub (MIT). The MIT License requires that the copyright notice and permission notice be included "
    "with copies. Names joined from emoji-datasource's emoji.json (MIT). Changed: composited onto white "
    "and resized."
)


def packages(cache: SourceCache) -> list[Package]:
    return [PACKAGE, names_package(cache)]


def _without_fe0f(stem: str) -> str:
    return "-".join(p for p in stem.split("-") if p != "fe0f")


def collect(cache: SourceCache) -> Collected:
    assets = cache.npm_dir(PACKAGE.name) / "assets"
    info = SourceInfo("fluent", PACKAGE, cache.version(PACKAGE), LICENSE, ATTRIBUTION)
    collected = Collected(info, [])
    files: dict[str, Path] = {}
    if assets.is_dir():
        for f in assets.iterdir():
            if f.suffix.lower() == ".webp":
                files.setdefault(f.stem.lower(), f)
                files.setdefault(_without_fe0f(f.stem.lower()), f)
    names = names_package(cache)
    for entry in load_entries(cache.npm_dir(names.name) / "emoji.json"):
        path = files.get(entry.stem.lower()) or files.get(_without_fe0f(entry.stem.lower()))
        if path is None:
            collected.filtered["no fluent image for this emoji"] += 1
            continue
        collected.items.append(
            Item(
                "fluent",
                entry.stem,
                entry.caption,
                entry.caption,
                "raster",
                str(path),
                alt_captions=entry.alt_captions,
                extra=entry_extra(entry),
            )
        )
    return collected
