"""The three data formats behind one interface, with bad records skipped and counted."""

import csv
import io
import json
import tarfile

import fsspec
import pytest
from PIL import Image

from unclip.data.config import DataConfig, open_source
from unclip.data.records import BadRecord, DataError, decode_image
from unclip.data.shards import expand_braces


def png(colour=(200, 30, 30), size=32) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (size, size), colour).save(buf, format="PNG")
    return buf.getvalue()


def read_all(source, min_size=16):
    good, bad = [], []
    for i in range(len(source)):
        try:
            good.append(
                (source.captions[i], decode_image(source.read_image_bytes(i), min_size, source.keys[i]).size)
            )
        except BadRecord as e:
            bad.append(e.reason)
    return good, bad


def test_folder_skips_and_counts_bad_records(tmp_path):
    root = tmp_path / "data"
    (root / "sub").mkdir(parents=True)
    (root / "a.png").write_bytes(png())
    (root / "a.txt").write_text("a red   square\n")
    (root / "sub" / "b.jpg").write_bytes(png((0, 0, 200)))
    (root / "sub" / "b.txt").write_text("a blue square")
    (root / "broken.png").write_bytes(b"\x89PNG not really")
    (root / "broken.txt").write_text("broken")
    (root / "tiny.png").write_bytes(png(size=4))
    (root / "tiny.txt").write_text("tiny")
    (root / "empty.png").write_bytes(png())
    (root / "empty.txt").write_text("   \n")
    (root / "nocaption.png").write_bytes(png())
    source = open_source(DataConfig(source=str(root)))
    assert source.kind == "folder"
    assert source.keys == ["a", "broken", "tiny", "sub/b"]
    assert source.captions[0] == "a red square"
    assert source.skipped.counts == {"empty caption": 1, "no caption file": 1}
    good, bad = read_all(source)
    assert good == [("a red square", (32, 32)), ("a blue square", (32, 32))]
    assert sorted(bad) == ["image too small", "unreadable image"]


def _add(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    tar.addfile(info, io.BytesIO(data))


def make_shard(path, records, truncate_last=False):
    with tarfile.open(path, "w") as tar:
        for key, image, caption, kind in records:
            if image is not None:
                _add(tar, f"{key}.jpg", image)
            if kind == "txt":
                _add(tar, f"{key}.txt", caption.encode())
            else:
                _add(tar, f"{key}.json", json.dumps({"caption": caption, "similarity": 0.3}).encode())
    if truncate_last:  # cut the file in the middle of the last image, as an interrupted download would
        with tarfile.open(path) as tar:
            last = [m for m in tar.getmembers() if m.name.endswith(".jpg")][-1]
        path.write_bytes(path.read_bytes()[: last.offset_data + last.size // 2])


def test_webdataset_shards_with_broken_members(tmp_path):
    make_shard(
        tmp_path / "00000.tar",
        [
            ("000000000", png(), "a red square", "txt"),
            ("000000001", png((0, 200, 0)), "a green square", "json"),
        ],
    )
    make_shard(
        tmp_path / "00001.tar",
        [
            ("000010000", b"garbage", "an unreadable image", "txt"),
            ("000010001", None, "no image", "txt"),
            ("000010002", png((0, 0, 200)), "", "txt"),
            ("000010003", png((0, 0, 200)), "a blue square", "txt"),
            ("000010004", png((9, 9, 9)) * 20, "cut off by the truncation", "txt"),
        ],
        truncate_last=True,
    )
    config = DataConfig(source=str(tmp_path / "{00000..00001}.tar"), index_cache=str(tmp_path / "cache"))
    source = open_source(config)
    assert source.kind == "shards"
    assert source.captions == ["a red square", "a green square", "an unreadable image", "a blue square"]
    assert source.skipped.counts == {"broken shard member": 1, "no image member": 1, "empty caption": 1}
    good, bad = read_all(source)
    assert [c for c, _ in good] == ["a red square", "a green square", "a blue square"]
    assert bad == ["unreadable image"]
    # The offsets are cached: a second open does not rescan.
    assert len(list((tmp_path / "cache").glob("*.json"))) == 2
    again = open_source(config)
    assert again.fingerprint() == source.fingerprint()
    # A folder of shards is found too.
    assert (
        open_source(DataConfig(source=str(tmp_path), index_cache=str(tmp_path / "cache"))).keys == source.keys
    )


def test_shards_through_an_fsspec_url(tmp_path):
    local = tmp_path / "s.tar"
    make_shard(
        local, [("k1", png(), "a red square", "txt"), ("k2", png((0, 200, 0)), "a green square", "txt")]
    )
    fs = fsspec.filesystem("memory")
    fs.pipe("/shards/s-000.tar", local.read_bytes())
    source = open_source(
        DataConfig(source="memory://shards/s-000.tar", format="shards", index_cache=str(tmp_path / "c"))
    )
    good, bad = read_all(source)
    assert [c for c, _ in good] == ["a red square", "a green square"] and not bad


def test_manifests_csv_parquet_jsonl(tmp_path):
    (tmp_path / "images").mkdir()
    for name, colour in (("r", (200, 0, 0)), ("g", (0, 200, 0)), ("b", (0, 0, 200))):
        (tmp_path / "images" / f"{name}.png").write_bytes(png(colour))
    rows = [
        {"file": "images/r.png", "caption": "a red square", "split": "train"},
        {"file": "images/g.png", "caption": "a green square", "split": "holdout"},
        {"file": "images/b.png", "caption": "", "split": "train"},
        {"file": "images/missing.png", "caption": "a missing image", "split": "train"},
    ]
    with (tmp_path / "m.csv").open("w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=["file", "caption", "split"])
        w.writeheader()
        w.writerows(rows)
    (tmp_path / "metadata.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    import pyarrow as pa
    import pyarrow.parquet as pq

    pq.write_table(
        pa.Table.from_pylist([{"url": r["file"], "text": r["caption"]} for r in rows]), tmp_path / "m.parquet"
    )

    for src in ("m.csv", "metadata.jsonl", ""):  # "" = the dataset folder: its metadata.jsonl
        source = open_source(DataConfig(source=str(tmp_path / src) if src else str(tmp_path)))
        assert source.kind == "manifest"
        assert source.captions == ["a red square", "a missing image"]
        assert source.skipped.counts == {"empty caption": 1}
        good, bad = read_all(source)
        assert [c for c, _ in good] == ["a red square"] and bad == ["unreadable file"]
    parquet = open_source(DataConfig(source=str(tmp_path / "m.parquet"), split=""))
    assert parquet.captions == ["a red square", "a green square", "a missing image"]


def test_dataset_level_errors(tmp_path):
    with pytest.raises(DataError, match="dataset not found"):
        open_source(DataConfig(source=str(tmp_path / "nope")))
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataError, match="no usable image-caption records"):
        open_source(DataConfig(source=str(tmp_path / "empty")))
    (tmp_path / "m.csv").write_text("path,words\nx.png,hello\n")
    with pytest.raises(DataError, match="cannot tell which column holds the caption"):
        open_source(DataConfig(source=str(tmp_path / "m.csv")))
    (tmp_path / "bad.tar").write_bytes(b"not a tar file at all" * 100)
    with pytest.raises(DataError, match="bad.tar"):
        open_source(DataConfig(source=str(tmp_path / "bad.tar"), index_cache=str(tmp_path / "c")))


def test_brace_expansion():
    assert expand_braces("s3://b/{00..02}.tar") == ["s3://b/00.tar", "s3://b/01.tar", "s3://b/02.tar"]
    assert expand_braces("a{1..2}-{0..1}") == ["a1-0", "a1-1", "a2-0", "a2-1"]


@pytest.mark.parametrize("bom", [b"", b"\xef\xbb\xbf"])
def test_a_manifest_that_is_not_utf8_is_a_data_error_naming_file_and_line(tmp_path, bom):
    (tmp_path / "a.png").write_bytes(png())
    good = json.dumps({"file": "a.png", "caption": "a red square"}).encode()
    (tmp_path / "metadata.jsonl").write_bytes(bom + good + b"\n" + good.replace(b"red", b"caf\xe9"))
    with pytest.raises(DataError, match="metadata.jsonl: line 2 is not UTF-8 text \\(byte 0xe9\\)"):
        open_source(DataConfig(source=str(tmp_path)))


@pytest.mark.parametrize(("key", "value"), [("num_workers", -1), ("min_image_size", -1), ("format", "zip")])
def test_bad_data_config_values_are_config_errors_naming_the_key(key, value):
    from unclip.utils.config import ConfigError

    with pytest.raises(ConfigError, match=f"^{key} must be"):
        DataConfig(**{key: value})
    with pytest.raises(ConfigError, match=f"^run.toml.data: {key} must be"):
        DataConfig.from_dict({key: value}, where="run.toml.data")
