"""Joining ATTRIBUTION.md files (of the datasets of one mix, or of the stages of one model)."""

from __future__ import annotations

import re


def merge_attributions(texts: list[str]) -> str | None:
    """The texts merged block by block (a block starts at a "# " or "## " heading): each distinct block
    once, in first-seen order. Stages of one model often share a dataset, and a model directory may
    already hold a merged file; no text of any file is dropped."""
    blocks: list[str] = []
    for text in texts:
        for block in re.split(r"(?m)^(?=#{1,2} )", text.strip()):
            block = block.strip()
            if block and block not in blocks:
                blocks.append(block)
    return "\n\n".join(blocks) + "\n" if blocks else None
