"""A manifest table of image paths (or URLs) and captions: CSV, Parquet or JSON Lines.

`unclip data`'s `metadata.jsonl` is such a manifest (columns `file`, `caption`, `split`). Relative
paths are resolved against the manifest's folder. Rows are kept in file order.
"""

from __future__ import annotations

import csv
import io
import json
import posixpath
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import fsspec

from unclip.data.records import DataError, SkipCounter, clean_caption
from unclip.data.source import FileListSource, is_url

IMAGE_COLUMNS = ("file", "image", "path", "filepath", "image_path", "url")
CAPTION_COLUMNS = ("caption", "text", "prompt", "title")


def _decode(data: bytes, path: str) -> str:
    """A text manifest's bytes as text (UTF-8, with or without a byte-order mark)."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        start = e.start + (len(data) - len(e.object))  # utf-8-sig reports offsets past the mark
        line = data.count(b"\n", 0, start) + 1
        raise DataError(
            f"{path}: line {line} is not UTF-8 text (byte 0x{data[start]:02x}); save it as UTF-8"
        ) from None


def _rows(path: str) -> Iterator[dict[str, Any]]:
    suffix = path.lower().rsplit(".", 1)[-1]
    try:
        if suffix == "parquet":
            try:
                import pyarrow.parquet as pq
            except ImportError as e:
                raise DataError(f"{path}: reading Parquet needs pyarrow (pip install 'unclip[train]')") from e
            with fsspec.open(path, "rb") as f:
                table = pq.read_table(f)
            yield from table.to_pylist()
            return
        with fsspec.open(path, "rb") as f:
            text = _decode(f.read(), path)
    except FileNotFoundError as e:
        raise DataError(f"{path}: manifest not found") from e
    except OSError as e:
        raise DataError(f"{path}: cannot read manifest ({e})") from e
    if suffix in ("jsonl", "ndjson"):
        for n, line in enumerate(text.splitlines(), 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as e:
                raise DataError(f"{path}: line {n} is not valid JSON ({e.msg})") from e
            if not isinstance(row, dict):
                raise DataError(f"{path}: line {n} is not a JSON object")
            yield row
    elif suffix in ("csv", "tsv"):
        yield from csv.DictReader(io.StringIO(text), delimiter="\t" if suffix == "tsv" else ",")
    else:
        raise DataError(f"{path}: unknown manifest type .{suffix} (use .csv, .tsv, .parquet or .jsonl)")


def _pick(columns: list[str], wanted: str | None, candidates: tuple[str, ...], what: str, path: str) -> str:
    if wanted:
        if wanted not in columns:
            raise DataError(f"{path}: no column {wanted!r} for the {what}; columns: {columns}")
        return wanted
    for name in candidates:
        if name in columns:
            return name
    raise DataError(
        f"{path}: cannot tell which column holds the {what} (tried {list(candidates)}); columns: {columns}"
    )


def index_manifest(
    path: str, image_column: str | None = None, caption_column: str | None = None, split: str | None = None
) -> FileListSource:
    """`split`: keep only rows whose `split` column equals it (rows without the column are kept)."""
    base = posixpath.dirname(path) if is_url(path) else str(Path(path).resolve().parent)
    keys, captions, paths = [], [], []
    skipped = SkipCounter()
    image_col: str | None = None
    caption_col: str | None = None
    for n, row in enumerate(_rows(path)):
        if image_col is None:
            columns = list(row)
            image_col = _pick(columns, image_column, IMAGE_COLUMNS, "image path", path)
            caption_col = _pick(columns, caption_column, CAPTION_COLUMNS, "caption", path)
        if split is not None and "split" in row and row["split"] != split:
            continue
        ref = row.get(image_col)
        key = str(row.get("id") or row.get("key") or ref or n)
        if not ref:
            skipped.add("no image path", f"row {n}")
            continue
        assert caption_col is not None  # picked with image_col, from the first row
        caption = clean_caption(row.get(caption_col) or "")
        if not caption:
            skipped.add("empty caption", key)
            continue
        ref = str(ref)
        if not is_url(ref) and not ref.startswith("/"):
            ref = posixpath.join(base, ref) if is_url(base) else str(Path(base) / ref)
        keys.append(key)
        captions.append(caption)
        paths.append(ref)
    return FileListSource("manifest", path, keys, captions, paths, skipped)
