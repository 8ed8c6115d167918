"""Small argument checks shared by the library, the CLI and the server."""

from __future__ import annotations

from typing import Any

from unclip.errors import InputError

MAX_SEED = 2**64 - 1  # torch.Generator.manual_seed takes 0 .. 2**64 - 1


def require_counts(**counts: Any) -> None:
    """Each named argument is a whole number >= 1 (an InputError naming the first that is not)."""
    for name, value in counts.items():
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise InputError(f"{name}: must be a whole number of at least 1, got {value!r}")


def unpaired_surrogate(text: str) -> int | None:
    """The index of the first lone surrogate in `text` (bytes that were not UTF-8, decoded with
    "surrogateescape", or a bad JSON escape), or None when the text is encodable. Tokenizers fail on it."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as e:
        return e.start
    return None
