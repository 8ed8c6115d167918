"""Fixtures: a source cache laid out like the real npm / Debian packages, with a handful of images."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from PIL import Image, ImageDraw

# (name, unified, category, short_names); images are drawn per style below
EMOJI = [
    (
        "GRINNING FACE WITH STAR EYES",
        "1F929",
        "Smileys & Emotion",
        ["star-struck", "grinning_face_with_star_eyes"],
    ),
    ("T-SHIRT", "1F455", "People & Body", ["shirt", "tshirt"]),
    ("NIGHT WITH STARS", "1F303", "Travel & Places", ["stars"]),
    ("MAN: RED HAIR", "1F468-200D-1F9B0", "People & Body", ["red_haired_man"]),
    ("BLACK SCISSORS", "2702-FE0F", "Objects", ["scissors"]),
    ("Côte d’Ivoire Flag", "1F1E8-1F1EE", "Flags", ["flag-ci"]),
    ("WORM", "1FAB1", "Animals & Nature", ["worm"]),
    ("EMOJI MODIFIER FITZPATRICK TYPE-3", "1F3FC", "Component", ["skin-tone-3"]),
]
CORRUPT_GOOGLE = "1f303"  # google's "night with stars" PNG is garbage bytes
NO_TWITTER = "1fab1"  # has_img_twitter: false for "worm"
TRANSPARENT = "1f929"  # drawn as a red disc on a fully transparent background
COLORS = {"google": (30, 120, 200), "twitter": (200, 60, 30), "fluent": (40, 160, 60)}


def _stem(unified: str) -> str:
    return unified.lower()


def emoji_json(entries: list[tuple[str, str, str, list[str]]] = EMOJI) -> list[dict]:
    out = []
    for name, unified, category, shorts in entries:
        stem = _stem(unified)
        out.append(
            {
                "name": name,
                "unified": unified,
                "image": f"{stem}.png",
                "short_name": shorts[0],
                "short_names": shorts,
                "category": category,
                "subcategory": "x",
                "has_img_google": True,
                "has_img_twitter": stem != NO_TWITTER,
            }
        )
    return out


def _picture(color: tuple[int, int, int], side: int, transparent: bool) -> Image.Image:
    img = Image.new("RGBA", (side, side), (0, 0, 0, 0) if transparent else color + (255,))
    q = side // 4
    fill = (220, 20, 20, 255) if transparent else (255 - color[0], 0, 0, 255)
    ImageDraw.Draw(img).rectangle((q, q, 3 * q - 1, 3 * q - 1), fill=fill)
    return img


def make_npm_package(
    root: Path, name: str, version: str, files: dict[str, bytes | Image.Image], meta: dict | None = None
) -> Path:
    pkg = root / "npm" / "node_modules" / name
    pkg.mkdir(parents=True, exist_ok=True)
    (pkg / "package.json").write_text(json.dumps({"name": name, "version": version, **(meta or {})}))
    for rel, content in files.items():
        path = pkg / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, Image.Image):
            content.save(path)
        else:
            path.write_bytes(content)
    return pkg


def make_emoji_cache(root: Path, entries=EMOJI, styles=("google", "twitter", "fluent")) -> Path:
    data = json.dumps(emoji_json(entries)).encode()
    for style in styles:
        if style == "fluent":
            files: dict[str, bytes | Image.Image] = {}
            for _, unified, cat, _s in entries:
                stem = _stem(unified)
                if cat != "Component" and stem != "1f468-200d-1f9b0":  # one emoji without a fluent image
                    files[f"assets/{stem.replace('-fe0f', '')}.webp"] = _picture(
                        COLORS["fluent"], 256, stem == TRANSPARENT
                    )
            make_npm_package(root, "@lobehub/fluent-emoji-3d", "1.1.0", files)
            continue
        files = {"emoji.json": data}
        for _, unified, _c, _s in entries:
            stem = _stem(unified)
            if style == "google" and stem == CORRUPT_GOOGLE:
                files[f"img/{style}/64/{stem}.png"] = b"\x89PNG\r\n\x1a\nnot really a png"
            else:
                img = _picture(COLORS[style], 64, stem == TRANSPARENT)
                files[f"img/{style}/64/{stem}.png"] = (
                    img.convert("P") if style == "twitter" and stem != TRANSPARENT else img
                )
        make_npm_package(root, f"emoji-datasource-{style}", "16.0.0", files)
    return root


@pytest.fixture
def emoji_cache(tmp_path: Path) -> Path:
    return make_emoji_cache(tmp_path / "cache")


SVG = """<?xml version="1.0" encoding="UTF-8"?>
<svg xmlns="http://www.w3.org/2000/svg" xmlns:dc="http://purl.org/dc/elements/1.1/"
     xmlns:cc="http://web.resource.org/cc/" xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"
     width="{w}" height="{h}" viewBox="0 0 100 {vh}">
  <metadata><rdf:RDF><cc:Work rdf:about="">
    <dc:title>{title}</dc:title>
    <dc:subject><rdf:Bag><rdf:li>animal</rdf:li><rdf:li>HASH(0x1)</rdf:li></rdf:Bag></dc:subject>
    <dc:creator><cc:Agent><dc:title>{author}</dc:title></cc:Agent></dc:creator>
    <dc:language>en</dc:language>
    <cc:license rdf:resource="{license}"/>
  </cc:Work></rdf:RDF></metadata>
  <circle cx="50" cy="{cy}" r="40" fill="#1060c0"/>
</svg>
"""
PD = "http://web.resource.org/cc/PublicDomain"


def svg(title: str, author: str = "Jane Doe", license: str = PD, w: str = "100", h: str = "100") -> str:
    vh = 100 if h == w else 200
    return SVG.format(title=title, author=author, license=license, w=w, h=h, vh=vh, cy=vh // 2)


def make_openclipart_cache(root: Path) -> Path:
    base = root / "apt" / "root" / "usr" / "share" / "openclipart" / "svg"
    files = {
        "animals/cat_jane_doe_01.svg": svg("Sleeping Cat (B and W)"),
        "animals/tall_giraffe.svg": svg("Giraffe_02", w="2.5cm", h="5cm"),  # units + tall aspect
        "animals/gatto.svg": svg("Gatto nero", author="Architetto Francesco Rollandin"),
        "animals/gpl_dog.svg": svg("Dog", license="http://creativecommons.org/licenses/GPL/2.0/"),
        "animals/broken.svg": "<svg><metadata>not closed",
        "animals/empty_size.svg": svg("Invisible thing", w="0", h="0"),  # parses, cannot render
        "animals/blank.svg": svg("Blank page").replace('fill="#1060c0"', 'fill="none"'),  # draws nothing
        "signs_and_symbols/flags/europe/sweden.svg": svg("sweden"),
        "transportation/roadsigns/bus_lane.svg": svg("SVG Road Signs"),
    }
    for i in range(5):
        files[f"computer/icons/lemon-theme/icon{i}.svg"] = svg("Lemon SVG theme")
    for rel, text in files.items():
        p = base / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text, encoding="utf-8")
    (base / "animals" / "cat_link.svg").symlink_to(base / "animals" / "cat_jane_doe_01.svg")
    stamp = root / "apt" / "installed" / "openclipart-svg.json"
    stamp.parent.mkdir(parents=True, exist_ok=True)
    stamp.write_text(json.dumps({"package": "openclipart-svg", "version": "1:0.18+dfsg-19"}))
    return root


@pytest.fixture
def clipart_cache(tmp_path: Path) -> Path:
    root = make_emoji_cache(tmp_path / "cache")
    return make_openclipart_cache(root)


def read_metadata(out: Path) -> list[dict]:
    return [json.loads(line) for line in (out / "metadata.jsonl").read_text(encoding="utf-8").splitlines()]
