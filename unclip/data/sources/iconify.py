"""Emoji styles from Iconify's JSON icon sets (`@iconify-json/<set>`): SVG bodies keyed by CLDR names.

The sets have no codepoints: an icon is joined to an emoji.json entry through the entry's CLDR short
name (from OpenMoji's name list, `openmoji.cldr_names`), falling back to its Unicode name and its
caption, each in the set's kebab case ("red apple" -> "red-apple"). Flags and some symbols have no
match. Each matched icon's SVG is written once under the cache (`iconify-svg/<set>/`) for rendering.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from unclip.data.sources import openmoji
from unclip.data.sources.base import Collected, DataSourceError, Item, Package, SourceInfo
from unclip.data.sources.cache import SourceCache
from unclip.data.sources.emoji_json import entry_extra, load_entries, names_package


@dataclass(frozen=True)
class IconSet:
    package: str
    license: str
    attribution: str


SETS = {
    "fluent-flat": IconSet(
        "@iconify-json/fluent-emoji-flat",
        "MIT",
        "Fluent Emoji (flat style), Copyright (c) Microsoft Corporation, licensed under the MIT License "
        "(https://github.com/microsoft/fluentui-emoji); in Iconify's JSON format (@iconify-json/fluent-emoji-flat). "
        "Changed: rendered, composited onto white and resized.",
    ),
    "emojione": IconSet(
        "@iconify-json/emojione",
        "CC-BY-4.0",
        "Emoji One (colored) by Emoji One (https://github.com/EmojiTwo/emojitwo), licensed under CC BY 4.0 "
        "(https://creativecommons.org/licenses/by/4.0/); in Iconify's JSON format (@iconify-json/emojione). "
        "Changed: rendered, composited onto white and resized. Attribution is required.",
    ),
}


def kebab(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower().replace("'", "").replace("\u2019", "")).strip("-")


def packages(style: str, cache: SourceCache) -> list[Package]:
    return [Package("npm", SETS[style].package), openmoji.PACKAGE, names_package(cache)]


def _svg(icon: dict[str, Any], width: int, height: int) -> str:
    left, top = icon.get("left", 0), icon.get("top", 0)
    w, h = icon.get("width", width), icon.get("height", height)
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" '
        f'width="{w}" height="{h}" viewBox="{left} {top} {w} {h}">{icon["body"]}</svg>'
    )


def _load_set(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(data.get("icons"), dict):
            raise ValueError("no 'icons' object")  # noqa: TRY004 (bad file content, reported as such below)
        return data
    except (OSError, ValueError) as e:
        raise DataSourceError(f"cannot read the Iconify icon set {path}: {e}") from e


def collect(style: str, cache: SourceCache) -> Collected:
    spec = SETS[style]
    pkg = Package("npm", spec.package)
    data = _load_set(cache.npm_dir(spec.package) / "icons.json")
    icons: dict[str, dict[str, Any]] = data["icons"]
    for alias, target in (data.get("aliases") or {}).items():
        if isinstance(target, dict) and target.get("parent") in icons:
            icons.setdefault(alias, icons[target["parent"]])
    width, height = int(data.get("width", 16)), int(data.get("height", 16))
    cldr = openmoji.cldr_names(cache)
    out_dir = cache.root / "iconify-svg" / style
    out_dir.mkdir(parents=True, exist_ok=True)
    collected = Collected(SourceInfo(style, pkg, cache.version(pkg), spec.license, spec.attribution), [])
    for entry in load_entries(cache.npm_dir(names_package(cache).name) / "emoji.json"):
        names = (cldr.get(openmoji.without_fe0f(entry.unified), ""), entry.name, entry.caption)
        name = next((kebab(n) for n in names if n and kebab(n) in icons), None)
        if name is None:
            collected.filtered[f"no {style} icon of this name"] += 1
            continue
        svg = out_dir / f"{name}.svg"
        if not svg.is_file():
            svg.write_text(_svg(icons[name], width, height), encoding="utf-8")
        collected.items.append(
            Item(
                style,
                entry.stem,
                entry.caption,
                entry.caption,
                "svg",
                str(svg),
                alt_captions=entry.alt_captions,
                extra=entry_extra(entry),
            )
        )
    return collected
