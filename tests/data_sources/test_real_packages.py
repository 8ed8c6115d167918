"""Optional: builds from the real packages when a developer's cache has them (CI has none: skipped)."""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image

from unclip.data.sources import SourceCache, build_emoji
from unclip.data.sources.base import Package

from .conftest import read_metadata

CACHE = SourceCache()
NEEDED = [
    Package("npm", "emoji-datasource-google"),
    Package("npm", "emoji-datasource-twitter"),
    Package("npm", "@lobehub/fluent-emoji-3d"),
    Package("apt", "fonts-noto-color-emoji"),
]
pytestmark = pytest.mark.skipif(
    not all(CACHE.has(p) for p in NEEDED), reason=f"real source packages not in {CACHE.root}"
)


def test_real_emoji_all_styles(tmp_path: Path) -> None:
    report = build_emoji(tmp_path / "ds", cache=CACHE, limit=12, log=lambda _m: None)
    assert report.images == {"google": 12, "twitter": 12, "noto": 12, "fluent": 12}
    rows = read_metadata(tmp_path / "ds")
    assert {r["caption"] for r in rows if r["style"] == "google"} >= {"hash key", "keycap 0"}
    for r in rows:
        with Image.open(tmp_path / "ds" / r["file"]) as img:
            assert img.size == (64, 64) and img.getpixel((0, 0)) == (255, 255, 255)
            lo, hi = img.convert("L").getextrema()
            assert lo < 128 < hi  # a drawing, not a blank or black square


def test_real_noto_named_entries(tmp_path: Path) -> None:
    from unclip.data.sources import noto

    items = {i.key: i for i in noto.collect(CACHE).items}
    assert items["1f929"].caption == "grinning face with star eyes"
    assert items["1f929"].text == "\U0001f929"
