"""`unclip data photos` (crops of photographs, object cutouts) and `unclip data mix`, on a source cache
laid out like the Debian packages, with small generated photos."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from unclip.cli.main import main
from unclip.data.config import DataConfig, open_source
from unclip.data.mix import mix_datasets
from unclip.data.sources import DataSourceError, SourceCache, build_photos
from unclip.data.sources.photos import crop_boxes

from .conftest import read_metadata


def _stamp(root: Path, name: str, version: str) -> None:
    stamp = root / "apt" / "installed" / f"{name}.json"
    stamp.parent.mkdir(parents=True, exist_ok=True)
    stamp.write_text(json.dumps({"package": name, "version": version}))


def make_photo_cache(root: Path) -> Path:
    nature = root / "apt" / "root" / "usr/share/backgrounds/mate/nature"
    nature.mkdir(parents=True)
    # a horizontal gradient, so each crop's mean colour tells where it was cut
    x = np.linspace(0, 255, 300, dtype=np.float32)
    garden = np.stack([np.tile(x, (200, 1)), np.full((200, 300), 100.0), np.tile(x[::-1], (200, 1))], -1)
    Image.fromarray(garden.astype(np.uint8)).save(nature / "Garden.jpg", quality=95)
    Image.new("RGB", (160, 120), (20, 200, 40)).save(nature / "GreenMeadow.jpg")
    (nature / "Storm.jpg").write_bytes(b"not a jpeg")
    _stamp(root, "mate-backgrounds", "1.26.0-1")
    stamps = root / "apt" / "root" / "usr/share/tuxpaint/stamps/animals"
    stamps.mkdir(parents=True)
    cutout = Image.new("RGBA", (80, 40), (0, 0, 0, 0))
    cutout.paste((200, 30, 30, 255), (10, 10, 70, 30))
    cutout.save(stamps / "flamingo.png")
    (stamps / "flamingo.txt").write_text("A pink flamingo.\nde.utf8=Ein rosa Flamingo.\n", encoding="utf-8")
    cutout.save(stamps / "flamingo_mirror.png")
    cutout.save(stamps / "mystery.png")  # no description: left out
    _stamp(root, "tuxpaint-stamps-default", "2022.06.04-1")
    return root


def test_crop_boxes_are_inside_the_photo_and_repeatable() -> None:
    boxes = crop_boxes(300, 200, 20, seed=7)
    assert boxes[0] == (50, 0, 200) and boxes == crop_boxes(300, 200, 20, seed=7)
    assert all(0 <= left and 0 <= top and left + s <= 300 and top + s <= 200 for left, top, s in boxes)
    assert len({s for _, _, s in boxes}) > 10 and min(s for _, _, s in boxes) >= 0.2 * 200 - 1


def test_photos_builds_crops_and_cutouts_with_sources_and_licenses(tmp_path: Path) -> None:
    cache = make_photo_cache(tmp_path / "cache")
    out = tmp_path / "photos"
    report = build_photos(out, cache=SourceCache(cache), size=32, crops=6, holdout=0.0, log=lambda _m: None)
    assert report.images == {"backgrounds": 12, "tuxpaint": 1}
    assert report.filtered["backgrounds"]["unreadable photo"] == 1
    assert report.filtered["tuxpaint"] == {"mirrored copy": 1, "no English description": 1}
    rows = {r["id"]: r for r in read_metadata(out)}
    garden = [r for r in rows.values() if r.get("photo") == "Garden.jpg"]
    assert len(garden) == 6 and {r["concept"] for r in garden} == {"photo garden"}
    assert garden[0]["caption"] == "a photo of a garden" and garden[0]["license"] == "GPL-2+"
    assert garden[0]["source"] == "deb:mate-backgrounds=1.26.0-1"
    # each crop shows its own part of the photo: red rises left to right in the gradient
    for r in garden:
        left, _top, side = r["crop"]
        red = np.asarray(Image.open(out / r["file"]), np.float32)[..., 0].mean()
        assert red == pytest.approx((left + side / 2) / 300 * 255, abs=12)
        assert Image.open(out / r["file"]).size == (32, 32)
    flamingo = rows["tuxpaint-animals-flamingo"]
    assert flamingo["caption"] == "A pink flamingo" and flamingo["license"] == "GPL-2"
    corner = Image.open(out / flamingo["file"]).getpixel((0, 0))
    assert corner == (255, 255, 255)  # transparent cutout composited onto white
    attribution = (out / "ATTRIBUTION.md").read_text()
    assert (
        "## backgrounds: mate-backgrounds" in attribution
        and "## tuxpaint: tuxpaint-stamps-default" in attribution
    )


def test_photos_needs_its_packages_and_sane_options(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    empty = tmp_path / "empty"
    assert main(["data", "photos", str(tmp_path / "o"), "--cache", str(empty)]) != 0
    err = capsys.readouterr().err
    assert "mate-backgrounds" in err and "--install" in err and "Traceback" not in err
    with pytest.raises(DataSourceError, match="--crops 0"):
        build_photos(tmp_path / "o2", cache=SourceCache(empty), crops=0)
    with pytest.raises(DataSourceError, match="unknown photo source"):
        build_photos(tmp_path / "o3", sources="flickr", cache=SourceCache(empty))


def test_mix_lists_both_datasets_and_trains_from_one_source(tmp_path: Path) -> None:
    cache = make_photo_cache(tmp_path / "cache")
    a, b = tmp_path / "a", tmp_path / "b"
    build_photos(
        a, sources="backgrounds", cache=SourceCache(cache), size=16, crops=3, holdout=0.0, log=lambda _m: None
    )
    build_photos(b, sources="tuxpaint", cache=SourceCache(cache), size=16, holdout=0.0, log=lambda _m: None)
    mix = tmp_path / "sets" / "mix"
    assert main(["data", "mix", str(mix), str(a), str(b), "--repeat", "1,3"]) == 0
    rows = read_metadata(mix)
    assert [r["dataset"] for r in rows].count("a") == 6 and [r["dataset"] for r in rows].count("b") == 3
    assert len({r["id"] for r in rows}) == 9  # repeats get their own ids
    source = open_source(DataConfig(source=str(mix)))
    assert len(source) == 9
    for i in range(len(source)):
        assert source.read_image_bytes(i)[:4] == b"\x89PNG"  # paths resolve from the mix folder
    headers = [line for line in (mix / "ATTRIBUTION.md").read_text().splitlines() if line.startswith("#")]
    assert headers == [
        "# Attribution",
        "## backgrounds: mate-backgrounds 1.26.0-1",
        "## tuxpaint: tuxpaint-stamps-default 2022.06.04-1",
    ]
    with pytest.raises(DataSourceError, match="already holds a dataset"):
        mix_datasets(mix, [a])
    with pytest.raises(DataSourceError, match="no metadata.jsonl"):
        mix_datasets(tmp_path / "m2", [tmp_path / "cache"])
    assert main(["data", "mix", str(tmp_path / "m3"), str(a), "--repeat", "x"]) != 0
