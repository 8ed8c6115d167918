"""The fixed evaluation prompts: seen (training) and unseen (held-out) concepts of an `unclip data` set."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path

from unclip.errors import InputError


@dataclass
class EvalConcept:
    caption: str
    split: str  # "train" (seen) or "holdout" (unseen)
    images: list[Path] = field(default_factory=list)  # real images of this concept
    styles: list[str] = field(default_factory=list)  # the style of each of `images` ("" when not recorded)

    def image_of_style(self, style: str) -> Path:
        """The first real image of `style`, else the first one."""
        return next((p for p, s in zip(self.images, self.styles) if s == style), self.images[0])


def _stable_order(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def read_metadata(meta: Path) -> str:
    """The text of a dataset's metadata.jsonl; unreadable or non-UTF-8 files are an InputError naming it."""
    try:
        data = meta.read_bytes()
        return data.decode("utf-8")
    except UnicodeDecodeError as e:
        line = data.count(b"\n", 0, e.start) + 1
        raise InputError(
            f"{meta}: line {line} is not UTF-8 text (byte 0x{data[e.start]:02x}); "
            "evaluation needs a dataset written by `unclip data`"
        ) from None
    except OSError as e:
        raise InputError(f"{meta}: cannot read ({e.strerror or e})") from None


def load_concepts(dataset: str | Path, per_split: int) -> list[EvalConcept]:
    """Up to `per_split` seen and `per_split` unseen concepts, chosen by a hash (the same list every run)."""
    root = Path(dataset)
    meta = root / "metadata.jsonl"
    if not meta.is_file():
        raise InputError(
            f"{meta}: missing: evaluation needs a dataset written by `unclip data` (metadata.jsonl)"
        )
    by_concept: dict[tuple[str, str], EvalConcept] = {}
    for n, line in enumerate(read_metadata(meta).splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            concept = row.get("concept") or row["caption"]
            split, file = row.get("split", "train"), row["file"]
        except (json.JSONDecodeError, KeyError, TypeError) as e:
            raise InputError(f"{meta}: line {n} is not a valid record ({e})") from e
        key = (split, concept)
        entry = by_concept.setdefault(key, EvalConcept(caption=concept, split=split))
        entry.images.append(root / file)
        entry.styles.append(str(row.get("style") or ""))
    out = []
    for split in ("train", "holdout"):
        concepts = sorted(
            (c for (s, _), c in by_concept.items() if s == split), key=lambda c: _stable_order(c.caption)
        )
        out.extend(concepts[:per_split])
    if not out:
        raise InputError(f"{meta}: no concepts found")
    return out
