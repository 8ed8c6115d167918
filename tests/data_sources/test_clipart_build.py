from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image

from unclip.data.sources import DataSourceError, SourceCache, build_clipart

from .conftest import read_metadata

pytest.importorskip("resvg_py", reason="SVG rendering needs resvg-py")


def _build(cache: Path, out: Path, **kw):
    return build_clipart(out, cache=SourceCache(cache), log=lambda _m: None, **kw)


def test_openclipart_filters_captions_and_renders(clipart_cache: Path, tmp_path: Path) -> None:
    out = tmp_path / "clip"
    report = _build(clipart_cache, out, sources="openclipart", size=256)
    rows = {r["caption"]: r for r in read_metadata(out)}
    assert set(rows) == {"sleeping cat, black and white", "giraffe", "sweden flag", "bus lane road sign"}
    left_out = report.filtered["openclipart"]
    assert left_out == {
        "no descriptive title": 5,
        "non-English title": 1,
        "not public domain": 1,
        "unparseable SVG": 1,
    }
    assert report.skipped["openclipart"] == {"unreadable (ValueError)": 1, "blank drawing": 1}
    cat = rows["sleeping cat, black and white"]
    assert cat["license"] == "public domain" and cat["author"] == "Jane Doe"
    assert cat["tags"] == ["animal"] and cat["source"] == "deb:openclipart-svg=1:0.18+dfsg-19"
    assert cat["path"] == "animals/cat_jane_doe_01.svg"  # the symlinked copy is not built twice
    for row in rows.values():
        with Image.open(out / row["file"]) as img:
            assert img.mode == "RGB" and img.size == (256, 256)
            assert img.getpixel((2, 2)) == (255, 255, 255)  # transparent SVG background -> white
            assert img.getpixel((128, 128))[2] > 150  # the blue circle
    with Image.open(out / rows["giraffe"]["file"]) as img:  # a 2.5cm x 5cm page: cropped to its circle
        assert img.getpixel((3, 128)) == (255, 255, 255) and img.getpixel((128, 3)) == (255, 255, 255)
        assert img.getpixel((24, 128))[2] > 150 and img.getpixel((128, 24))[2] > 150
    assert "public domain" in (out / "ATTRIBUTION.md").read_text()


def test_fluent_only_at_native_size(clipart_cache: Path, tmp_path: Path) -> None:
    report = _build(clipart_cache, tmp_path / "a", size=256)
    assert report.images["fluent"] == 6 and report.images["openclipart"] == 4
    rows = read_metadata(tmp_path / "a")
    assert {r["license"] for r in rows if r["style"] == "fluent"} == {"MIT"}
    big = _build(clipart_cache, tmp_path / "b", size=1024, limit=2)
    assert set(big.images) == {"openclipart"}
    with pytest.raises(DataSourceError, match="256 px"):
        _build(clipart_cache, tmp_path / "c", sources="fluent", size=1024)
    with pytest.raises(DataSourceError, match="256 or 1024"):
        _build(clipart_cache, tmp_path / "d", size=512)
