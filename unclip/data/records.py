"""Records, skip reasons and image decoding shared by every data source.

A bad record (unreadable image, empty caption, tiny image, broken shard member) is never fatal: the
source or the loader raises :class:`BadRecord`, the record is skipped and counted by reason, and the
count is logged. Only problems with the dataset as a whole (no such folder, no records at all) raise
:class:`DataError`, a user-facing error.
"""

from __future__ import annotations

import io
import warnings
from collections import Counter
from dataclasses import dataclass, field

from PIL import Image

from unclip.errors import UnclipError

IMAGE_EXTENSIONS = ("jpg", "jpeg", "png", "webp", "bmp", "gif")


class DataError(UnclipError):
    """A dataset cannot be used at all (missing, empty, malformed manifest); the message says which."""


class BadRecord(Exception):
    """One record cannot be used; `reason` is a short stable label used for counting."""

    def __init__(self, reason: str, detail: str = ""):
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason
        self.detail = detail


@dataclass
class SkipCounter:
    """Skipped records by reason, with the first example of each (for the log)."""

    counts: Counter[str] = field(default_factory=Counter)
    examples: dict[str, str] = field(default_factory=dict)

    def add(self, reason: str, example: str = "") -> None:
        self.counts[reason] += 1
        self.examples.setdefault(reason, example)

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    def summary(self) -> str:
        if not self.counts:
            return "none"
        return ", ".join(
            f"{n} {reason}" + (f" (e.g. {self.examples[reason]})" if self.examples.get(reason) else "")
            for reason, n in self.counts.most_common()
        )


def clean_caption(text: str) -> str:
    """Fold whitespace; an empty result means the record has no usable caption."""
    return " ".join(str(text).split())


def decode_image(data: bytes, min_size: int = 0, where: str = "") -> Image.Image:
    """Bytes -> RGB PIL image (transparency composited onto white), or :class:`BadRecord`."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # e.g. PIL's DecompressionBombWarning, palette warnings
            image: Image.Image = Image.open(io.BytesIO(data))
            image.load()
    except Exception as e:  # PIL raises many types for corrupt data
        raise BadRecord("unreadable image", f"{where} ({type(e).__name__})") from e
    if min(image.size) < min_size:
        raise BadRecord("image too small", f"{where} ({image.size[0]}x{image.size[1]} < {min_size} px)")
    if image.mode in ("RGBA", "LA", "P", "PA"):
        rgba = image.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        image = Image.alpha_composite(background, rgba)
    return image.convert("RGB")
