"""Google and Twitter emoji: 64x64 PNGs from the emoji-datasource-google / -twitter npm packages."""

from __future__ import annotations

from dataclasses import dataclass

from unclip.data.sources.base import Collected, Item, Package, SourceInfo
from unclip.data.sources.cache import SourceCache
from unclip.data.sources.emoji_json import entry_extra, load_entries


@dataclass(frozen=True)
class _Style:
    package: str
    license: str
    attribution: str


STYLES = {
    "google": _Style(
        "emoji-datasource-google",
        "Apache-2.0",
        "Noto Emoji images, Copyright Google Inc., licensed under the Apache License 2.0 "
        "(https://www.apache.org/licenses/LICENSE-2.0). Taken from the emoji-datasource-google npm package "
        "by Cal Henderson (https://github.com/iamcal/emoji-data, MIT). Changed: composited onto white "
        "and resized.",
    ),
    "twitter": _Style(
        "emoji-datasource-twitter",
        "CC-BY-4.0",
        "Twemoji graphics Copyright Twitter, Inc and other contributors (https://github.com/jdecked/twemoji), "
        "licensed under CC-BY 4.0 (https://creativecommons.org/licenses/by/4.0/). Taken from the "
        "emoji-datasource-twitter npm package by Cal Henderson (https://github.com/iamcal/emoji-data, MIT). "
        "Changed: composited onto white and resized. Attribution is REQUIRED wherever these images, or "
        "anything distributed with them, are shared.",
    ),
}


def packages(style: str) -> list[Package]:
    return [Package("npm", STYLES[style].package)]


def collect(style: str, cache: SourceCache) -> Collected:
    spec = STYLES[style]
    pkg = Package("npm", spec.package)
    root = cache.npm_dir(spec.package)
    info = SourceInfo(style, pkg, cache.version(pkg), spec.license, spec.attribution)
    collected = Collected(info, [])
    img_dir = root / "img" / style / "64"
    flag = f"has_img_{style}"
    for entry in load_entries(root / "emoji.json"):
        if entry.raw.get(flag) is False:
            collected.filtered[f"no {style} image"] += 1
            continue
        collected.items.append(
            Item(
                style=style,
                key=entry.stem,
                caption=entry.caption,
                concept=entry.caption,
                kind="raster",
                path=str(img_dir / entry.image),
                alt_captions=entry.alt_captions,
                extra=entry_extra(entry),
            )
        )
    return collected
