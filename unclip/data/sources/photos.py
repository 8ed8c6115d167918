"""Photographs that install from Debian, for training the inpainting models on something besides emoji.

Two sources:

- `backgrounds`: the nature photographs of mate-backgrounds (Garden, LadyBird, Storm, ...; 1280 to
  5640 px wide). Each photo gives many square crops at random positions and scales (seeded by the
  photo's name, so a rebuild gives the same crops); every crop of one photo is one concept, so the
  holdout split keeps whole photos out. Captions come from the file name ("a photo of a lady bird").
- `tuxpaint`: tuxpaint-stamps-default, ~800 real-object cutouts (many photographic) with an English
  sentence each ("A pink flamingo."), composited onto white.

The editing benchmark's photos (scikit-image's astronaut, chelsea, coffee) are deliberately in
neither source: trained inpainting is measured on photos it never saw.
"""

from __future__ import annotations

import hashlib
import random
import re
from pathlib import Path

from unclip.data.sources.base import Collected, DataSourceError, Item, Package, SourceInfo
from unclip.data.sources.cache import SourceCache

BACKGROUNDS = Package("apt", "mate-backgrounds")
TUXPAINT = Package("apt", "tuxpaint-stamps-default")
BACKGROUND_DIRS = ("usr/share/backgrounds/mate/nature", "usr/share/backgrounds/mate/abstract")
BACKGROUND_FILES = {  # file -> caption: the photographs among the wallpapers (the rest are drawings)
    "Aqua.jpg": "a photo of water drops on a blue surface",
    "Blinds.jpg": "a photo of light through window blinds",
    "Dune.jpg": "a photo of a sand dune",
    "FreshFlower.jpg": "a photo of a fresh flower",
    "Garden.jpg": "a photo of a garden",
    "GreenMeadow.jpg": "a photo of a green meadow",
    "LadyBird.jpg": "a photo of a ladybird on a leaf",
    "RainDrops.jpg": "a photo of rain drops",
    "Storm.jpg": "a photo of a storm over a field",
    "TwoWings.jpg": "a photo of a butterfly",
    "Wood.jpg": "a photo of wood",
    "YellowFlower.jpg": "a photo of a yellow flower",
    "Elephants.jpg": "a photo of elephants",
}
TUXPAINT_ROOT = "usr/share/tuxpaint/stamps"
BACKGROUNDS_LICENSE = "GPL-2+"
TUXPAINT_LICENSE = "GPL-2"
BACKGROUNDS_ATTRIBUTION = (
    "Nature photographs from the MATE desktop's wallpapers (Debian package mate-backgrounds), licensed "
    "GPL-2+ by their authors (Lennart Poettering, Andrea Cimitan, Marco Cogoni, Hylke Bons, Jens Ansorg, "
    "Timothy Schellhase, Lapo Calamandrei, Sergey Nazarov, Charles Barbin, Jean-Francois Fortin Tam and "
    "others; the package's copyright file lists each). Changed: square crops, resized."
)
TUXPAINT_ATTRIBUTION = (
    "Stamps of Tux Paint (Debian package tuxpaint-stamps-default), GPL-2, by the Tux Paint contributors "
    "(tuxpaint.org); captions are the stamps' English descriptions. Changed: composited onto white, resized."
)
MIN_CROP = 0.2  # smallest crop side, as a fraction of the photo's short side


def packages(sources: list[str]) -> list[Package]:
    return [BACKGROUNDS if s == "backgrounds" else TUXPAINT for s in sources]


def _seed(text: str) -> int:
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "big")


def crop_boxes(width: int, height: int, n: int, seed: int) -> list[tuple[int, int, int]]:
    """`n` square crops (left, top, side) inside a `width` x `height` photo: the first is the whole
    centred square, the rest random, sides log-uniform from MIN_CROP to 1 of the short side."""
    rng = random.Random(seed)
    short = min(width, height)
    boxes = [((width - short) // 2, (height - short) // 2, short)]
    while len(boxes) < n:
        side = max(8, round(short * MIN_CROP ** rng.random()))
        boxes.append((rng.randint(0, width - side), rng.randint(0, height - side), side))
    return boxes


def _image_size(path: Path) -> tuple[int, int]:
    from PIL import Image

    with Image.open(path) as im:
        return im.size


def collect_backgrounds(cache: SourceCache, crops: int) -> Collected:
    info = SourceInfo(
        "backgrounds", BACKGROUNDS, cache.version(BACKGROUNDS), BACKGROUNDS_LICENSE, BACKGROUNDS_ATTRIBUTION
    )
    collected = Collected(info, [])
    found = {p.name: p for d in BACKGROUND_DIRS for p in sorted((cache.apt_root / d).glob("*.jpg"))}
    if not found:
        raise DataSourceError(
            f"{BACKGROUNDS.name} is in the cache but has no photos under {cache.apt_root}: "
            "fetch it again with --install"
        )
    for name, caption in BACKGROUND_FILES.items():
        path = found.get(name)
        if path is None:
            collected.filtered["photo missing from this package version"] += 1
            continue
        try:
            width, height = _image_size(path)
        except OSError:
            collected.filtered["unreadable photo"] += 1
            continue
        stem = re.sub(r"[^a-z0-9]+", "-", path.stem.lower()).strip("-")
        for i, (left, top, side) in enumerate(crop_boxes(width, height, crops, _seed(name))):
            collected.items.append(
                Item(
                    "backgrounds",
                    f"{stem}-{i:03d}",
                    caption,
                    f"photo {stem}",
                    "crop",
                    str(path),
                    extra={"crop": [left, top, side], "photo": name},
                )
            )
    collected.filtered["wallpapers that are drawings"] += len([n for n in found if n not in BACKGROUND_FILES])
    return collected


def _tuxpaint_caption(png: Path) -> str:
    txt = png.with_suffix(".txt")
    if txt.is_file():
        first = txt.read_text(encoding="utf-8", errors="replace").splitlines()[:1]
        if first and first[0].strip() and "=" not in first[0]:
            return first[0].strip().rstrip(".")
    return ""


def collect_tuxpaint(cache: SourceCache) -> Collected:
    info = SourceInfo("tuxpaint", TUXPAINT, cache.version(TUXPAINT), TUXPAINT_LICENSE, TUXPAINT_ATTRIBUTION)
    collected = Collected(info, [])
    root = cache.apt_root / TUXPAINT_ROOT
    if not root.is_dir():
        raise DataSourceError(
            f"{TUXPAINT.name} is in the cache but {root} is missing: fetch it again with --install"
        )
    keys: set[str] = set()
    for png in sorted(root.rglob("*.png")):
        if png.stem.endswith(("_mirror", "_flip")):  # alternative orientations of another stamp
            collected.filtered["mirrored copy"] += 1
            continue
        caption = _tuxpaint_caption(png)
        if not caption:
            collected.filtered["no English description"] += 1
            continue
        rel = png.relative_to(root).as_posix()
        key = re.sub(r"[^a-z0-9]+", "-", rel.lower().removesuffix(".png")).strip("-")
        while key in keys:
            key += "-x"
        keys.add(key)
        collected.items.append(
            Item("tuxpaint", key, caption, caption, "raster", str(png), extra={"path": rel})
        )
    return collected
