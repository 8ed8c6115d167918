from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path

import pytest
from PIL import Image

from unclip.data.sources import DataSourceError, SourceCache, SourceMissingError, build_emoji
from unclip.errors import UnclipError

from .conftest import CORRUPT_GOOGLE, make_emoji_cache, read_metadata

STYLES = "google,twitter,fluent"


def _build(cache: Path, out: Path, **kw):
    kw.setdefault("styles", STYLES)
    return build_emoji(out, cache=SourceCache(cache), log=lambda _m: None, **kw)


def test_layout_captions_and_metadata(emoji_cache: Path, tmp_path: Path) -> None:
    out = tmp_path / "ds"
    report = _build(emoji_cache, out, size=32)
    rows = read_metadata(out)
    # 7 non-Component emoji; google loses its corrupt PNG, twitter lacks "worm", fluent lacks "man with red hair"
    assert report.images == {"google": 6, "twitter": 6, "fluent": 6}
    [(reason, n)] = report.skipped["google"].items()
    assert n == 1 and reason.startswith("unreadable (")
    assert CORRUPT_GOOGLE in report.examples[("google", reason)]
    assert report.filtered["twitter"] == {"no twitter image": 1}
    assert report.filtered["fluent"] == {"no fluent image for this emoji": 1}
    assert len(rows) == 18
    keys = {"id", "file", "caption", "alt_captions", "concept", "style", "source", "license", "split"}
    for row in rows:
        assert keys <= row.keys()
        png = out / row["file"]
        assert png.name == f"{row['id']}.png"
        assert png.with_suffix(".txt").read_text(encoding="utf-8") == row["caption"] + "\n"
        with Image.open(png) as img:
            assert img.mode == "RGB" and img.size == (32, 32)
    files = sorted(p.name for p in (out / "images").iterdir())
    assert len(files) == 36 and all(f.endswith((".png", ".txt")) for f in files)
    captions = {r["caption"] for r in rows}
    assert {
        "grinning face with star eyes",
        "t-shirt",
        "night with stars",
        "man with red hair",
        "scissors",
        "cote d'ivoire flag",
        "worm",
    } == captions
    by_id = {r["id"]: r for r in rows}
    assert by_id["twitter-1f929"]["alt_captions"] == ["star struck"]
    assert by_id["twitter-1f929"]["source"] == "npm:emoji-datasource-twitter@16.0.0"
    assert by_id["twitter-1f929"]["license"] == "CC-BY-4.0"
    assert by_id["fluent-2702-fe0f"]["license"] == "MIT"  # joined although the file is 2702.webp
    assert by_id["google-1f455"]["license"] == "Apache-2.0"
    assert by_id["google-1f455"]["name"] == "T-SHIRT" and by_id["google-1f455"]["category"] == "People & Body"
    summary = json.loads((out / "summary.json").read_text())
    assert summary["images"] == {"google": 6, "twitter": 6, "fluent": 6}


def test_transparent_pixels_become_white(emoji_cache: Path, tmp_path: Path) -> None:
    out = tmp_path / "ds"
    _build(emoji_cache, out, size=64)
    for style in ("google", "twitter", "fluent"):
        with Image.open(out / "images" / f"{style}-1f929.png") as img:
            assert img.getpixel((0, 0)) == (255, 255, 255), style  # transparent corner
            r, g, b = img.getpixel((32, 32))
            assert r > 180 and g < 80 and b < 80, style  # the opaque red square survives
    with Image.open(out / "images" / "twitter-1f455.png") as img:  # palette PNG, opaque
        assert img.getpixel((0, 0)) == (200, 60, 30)


def test_holdout_is_by_concept_across_styles(emoji_cache: Path, tmp_path: Path) -> None:
    out = tmp_path / "ds"
    report = _build(emoji_cache, out, holdout=0.5)
    rows = read_metadata(out)
    splits: dict[str, set[str]] = defaultdict(set)
    for r in rows:
        splits[r["concept"]].add(r["split"])
    assert all(len(s) == 1 for s in splits.values())
    held = sorted(c for c, s in splits.items() if s == {"holdout"})
    assert held and len(held) < len(splits)
    assert report.holdout_concepts == held
    # the same split on a second build
    again = _build(emoji_cache, tmp_path / "ds2", holdout=0.5)
    assert again.holdout_concepts == held


def test_attribution_lists_every_source(emoji_cache: Path, tmp_path: Path) -> None:
    out = tmp_path / "ds"
    _build(emoji_cache, out)
    text = (out / "ATTRIBUTION.md").read_text()
    for needle in (
        "emoji-datasource-google 16.0.0",
        "Apache-2.0",
        "emoji-datasource-twitter 16.0.0",
        "CC-BY-4.0",
        "Twitter, Inc",
        "@lobehub/fluent-emoji-3d 1.1.0",
        "Microsoft",
        "MIT",
    ):
        assert needle in text


def test_missing_package_names_it_and_the_fix(tmp_path: Path) -> None:
    cache = tmp_path / "empty"
    with pytest.raises(SourceMissingError) as err:
        _build(cache, tmp_path / "ds", styles="twitter,noto")
    msg = str(err.value)
    assert isinstance(err.value, UnclipError)
    assert "emoji-datasource-twitter" in msg and "fonts-noto-color-emoji" in msg
    assert "--install" in msg
    assert f"npm install --prefix {cache / 'npm'} emoji-datasource-twitter" in msg
    assert "apt-get download fonts-noto-color-emoji" in msg
    assert not (tmp_path / "ds").exists()


def test_only_the_missing_style_is_reported(emoji_cache: Path, tmp_path: Path) -> None:
    with pytest.raises(SourceMissingError) as err:
        _build(emoji_cache, tmp_path / "ds", styles="google,noto")
    assert "fonts-noto-color-emoji" in str(err.value)
    assert "npm install" not in str(err.value)  # google is in the cache


@pytest.mark.parametrize(
    ("kw", "needle"),
    [
        ({"styles": "google,apple"}, "unknown emoji style(s) apple"),
        ({"holdout": 1.5}, "--holdout"),
        ({"size": 2}, "--size"),
        ({"limit": 0}, "--limit"),
    ],
)
def test_bad_options(emoji_cache: Path, tmp_path: Path, kw: dict, needle: str) -> None:
    with pytest.raises(DataSourceError) as err:
        _build(emoji_cache, tmp_path / "ds", **kw)
    assert needle in str(err.value)


def test_existing_output_needs_overwrite(emoji_cache: Path, tmp_path: Path) -> None:
    out = tmp_path / "ds"
    _build(emoji_cache, out, styles="google")
    with pytest.raises(DataSourceError, match="--overwrite"):
        _build(emoji_cache, out, styles="google")
    report = _build(emoji_cache, out, styles="twitter", overwrite=True)
    assert report.images == {"twitter": 6}
    assert not list((out / "images").glob("google-*"))


def test_limit_and_worker_pool(tmp_path: Path) -> None:
    entries = [
        (f"THING NUMBER {chr(65 + i // 26)}{chr(65 + i % 26)}", f"E{i:03X}", "Objects", [f"t{i}"])
        for i in range(40)
    ]
    cache = make_emoji_cache(tmp_path / "cache", entries=entries, styles=("google",))
    report = _build(cache, tmp_path / "ds", styles="google", workers=2, size=16)
    assert report.images == {"google": 40}
    assert len(list((tmp_path / "ds" / "images").glob("*.png"))) == 40
    limited = _build(cache, tmp_path / "ds2", styles="google", limit=5)
    assert limited.images == {"google": 5}


def test_a_style_with_no_readable_image_is_an_error(tmp_path: Path) -> None:
    cache = make_emoji_cache(tmp_path / "cache", styles=("google",))
    for png in (cache / "npm/node_modules/emoji-datasource-google/img/google/64").iterdir():
        png.write_bytes(b"junk")
    with pytest.raises(DataSourceError, match="none of its 7 images"):
        _build(cache, tmp_path / "ds", styles="google")


def test_bad_emoji_json_is_a_clear_error(emoji_cache: Path, tmp_path: Path) -> None:
    (emoji_cache / "npm/node_modules/emoji-datasource-google/emoji.json").write_text("{not json")
    with pytest.raises(DataSourceError, match="emoji.json"):
        _build(emoji_cache, tmp_path / "ds", styles="google")
