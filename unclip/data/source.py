"""The one interface every dataset format is read through: a random-access list of image-caption records.

Random access (rather than a stream) is what makes training exactly resumable and identical on any
number of processes: the trainer draws the global batch from a seeded permutation of record numbers
and each process reads its slice (see :mod:`unclip.data.sampler`). Captions live in memory (they are
small); images are read on demand, in DataLoader workers.
"""

from __future__ import annotations

import hashlib
import os
from abc import ABC, abstractmethod
from pathlib import Path

import fsspec

from unclip.data.records import BadRecord, SkipCounter


def is_url(path: str) -> bool:
    return "://" in path and not path.startswith("file://")


def read_file_bytes(path: str) -> bytes:
    """Whole file contents from a local path or any fsspec URL; I/O errors become :class:`BadRecord`."""
    try:
        if is_url(path):
            with fsspec.open(path, "rb") as f:
                return f.read()
        with open(path.removeprefix("file://"), "rb") as f:
            return f.read()
    except (OSError, ValueError) as e:
        raise BadRecord("unreadable file", f"{path} ({type(e).__name__})") from e


class ImageTextSource(ABC):
    """`len(source)` records; record i has a unique `keys[i]`, a caption and readable image bytes."""

    #: a short name for the format ("folder", "manifest", "shards")
    kind: str = ""

    def __init__(self, location: str, keys: list[str], captions: list[str], skipped: SkipCounter):
        self.location = location
        self.keys = keys
        self.captions = captions
        self.skipped = skipped  # records left out while indexing (empty caption, missing file, ...)

    def __len__(self) -> int:
        return len(self.keys)

    @abstractmethod
    def read_image_bytes(self, i: int) -> bytes:
        """The encoded image of record i; raises :class:`BadRecord` if it cannot be read."""

    def fingerprint(self) -> str:
        """Identifies the record list (keys and captions, in order): a resumed run checks it is unchanged."""
        h = hashlib.sha1()
        for key, caption in zip(self.keys, self.captions):
            h.update(key.encode("utf-8", "replace") + b"\0" + caption.encode("utf-8", "replace") + b"\n")
        return h.hexdigest()

    def attribution(self) -> str | None:
        """The dataset's ATTRIBUTION.md, when it has one (written by `unclip data`)."""
        root = (
            self.location
            if not self.location.endswith((".tar", ".csv", ".parquet", ".jsonl"))
            else os.path.dirname(self.location)
        )
        if is_url(root) or not root:
            return None
        for candidate in (Path(root) / "ATTRIBUTION.md", Path(root).parent / "ATTRIBUTION.md"):
            if candidate.is_file():
                return candidate.read_text(encoding="utf-8")
        return None

    def describe(self) -> str:
        return f"{self.kind} {self.location}: {len(self)} records, skipped while indexing: {self.skipped.summary()}"


class FileListSource(ImageTextSource):
    """Records whose images are separate files (a folder, or a manifest of paths/URLs)."""

    def __init__(
        self,
        kind: str,
        location: str,
        keys: list[str],
        captions: list[str],
        paths: list[str],
        skipped: SkipCounter,
    ):
        super().__init__(location, keys, captions, skipped)
        self.kind = kind
        self.paths = paths

    def read_image_bytes(self, i: int) -> bytes:
        return read_file_bytes(self.paths[i])
