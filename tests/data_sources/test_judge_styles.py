"""The judge's extra emoji styles: OpenMoji (SVG by codepoint) and Iconify icon sets (SVG by CLDR name)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from PIL import Image

from unclip.data.sources import DataSourceError, SourceCache, build_emoji

from .conftest import make_emoji_cache, make_npm_package, read_metadata

CIRCLE = '<circle cx="{c}" cy="{c}" r="{r}" fill="#{fill}"/>'


def _svg(fill: str, side: int = 72) -> str:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{side}" height="{side}" viewBox="0 0 {side} {side}">'
        + CIRCLE.format(c=side // 2, r=side // 3, fill=fill)
        + "</svg>"
    )


def add_judge_styles(root: Path) -> Path:
    # OpenMoji: files by codepoint without FE0F; its CSV gives CLDR names (used by Iconify matching).
    rows = [
        ("1F929", "star-struck"),
        ("1F455", "t-shirt"),
        ("1F303", "night with stars"),
        ("2702", "scissors"),
        ("1FAB1", "worm"),
    ]
    csv = "emoji,hexcode,annotation\n" + "".join(f"x,{code},{name}\n" for code, name in rows)
    files: dict = {"data/openmoji.csv": csv.encode()}
    for code, _ in rows[:4]:  # no openmoji picture of the worm
        files[f"color/svg/{code}.svg"] = _svg("2080d0").encode()
    make_npm_package(root, "openmoji", "15.1.0", files)
    # Iconify: icons keyed by kebab-case CLDR name (left/top/width/height per icon or set-wide).
    icons = {
        "star-struck": {"body": CIRCLE.format(c=16, r=12, fill="e0a010")},
        "t-shirt": {"body": CIRCLE.format(c=16, r=12, fill="10a0e0")},
        "worm": {"body": CIRCLE.format(c=8, r=6, fill="e01060"), "width": 16, "height": 16},
    }
    make_npm_package(
        root,
        "@iconify-json/fluent-emoji-flat",
        "1.2.6",
        {
            "icons.json": json.dumps(
                {
                    "prefix": "fluent-emoji-flat",
                    "icons": icons,
                    "aliases": {"shirt": {"parent": "t-shirt"}},
                    "width": 32,
                    "height": 32,
                }
            ).encode()
        },
    )
    return root


def test_openmoji_and_iconify_styles_join_the_same_concepts(tmp_path: Path) -> None:
    cache = add_judge_styles(make_emoji_cache(tmp_path / "cache"))
    report = build_emoji(
        tmp_path / "ds", styles="google,fluent-flat,openmoji", cache=SourceCache(cache), log=lambda _m: None
    )
    rows = read_metadata(tmp_path / "ds")
    by_style: dict[str, set[str]] = {}
    for r in rows:
        by_style.setdefault(r["style"], set()).add(r["concept"])
    assert by_style["openmoji"] == {"grinning face with star eyes", "t-shirt", "night with stars", "scissors"}
    # Iconify: "star-struck" and "t-shirt" come from OpenMoji's CLDR names, "worm" from the caption
    assert by_style["fluent-flat"] == {"grinning face with star eyes", "t-shirt", "worm"}
    assert by_style["openmoji"] <= by_style["google"] | {"night with stars"}
    assert report.images["fluent-flat"] == 3
    for r in rows:
        if r["style"] in ("openmoji", "fluent-flat"):
            with Image.open(tmp_path / "ds" / r["file"]) as im:
                assert im.size == (64, 64)
                centre, corner = im.convert("RGB").getpixel((32, 32)), im.convert("RGB").getpixel((1, 1))
            assert corner == (255, 255, 255) and centre != (255, 255, 255)  # drawn, on white
    attribution = (tmp_path / "ds" / "ATTRIBUTION.md").read_text()
    assert "CC BY-SA 4.0" in attribution and "Microsoft" in attribution


def test_default_styles_are_the_models_and_unknown_styles_are_named(tmp_path: Path) -> None:
    cache = add_judge_styles(make_emoji_cache(tmp_path / "cache"))
    with pytest.raises(DataSourceError, match="unknown emoji style.* applemoji: choose from .*openmoji"):
        build_emoji(tmp_path / "ds", styles="google,applemoji", cache=SourceCache(cache), log=lambda _m: None)


def test_a_broken_icon_set_names_the_file(tmp_path: Path) -> None:
    cache = add_judge_styles(make_emoji_cache(tmp_path / "cache"))
    (cache / "npm/node_modules/@iconify-json/fluent-emoji-flat/icons.json").write_text("{not json")
    with pytest.raises(DataSourceError, match="icons.json"):
        build_emoji(tmp_path / "ds", styles="fluent-flat", cache=SourceCache(cache), log=lambda _m: None)
