"""DALL-E 2's visible signature: five small coloured squares (yellow, turquoise, green, red, blue) in the
lower-right corner. Off by default (``--signature``): it changes the picture."""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw

COLOURS: tuple[tuple[int, int, int], ...] = (
    (255, 255, 102),  # yellow
    (66, 255, 255),  # turquoise
    (81, 218, 76),  # green
    (255, 110, 60),  # red
    (60, 70, 255),  # blue
)


def add_signature(image: Image.Image) -> Image.Image:
    """A copy of ``image`` with the five squares along the bottom edge, ending at the right edge; each
    square is 1/64 of the shorter side (16 px at 1024 px), at least 2 px."""
    out = image.copy()
    side = max(2, min(out.size) // 64)
    draw = ImageDraw.Draw(out)
    x0 = out.width - side * len(COLOURS)
    y0 = out.height - side
    for i, colour in enumerate(COLOURS):
        fill = colour + (255,) if out.mode == "RGBA" else colour
        draw.rectangle((x0 + i * side, y0, x0 + (i + 1) * side - 1, out.height - 1), fill=fill)
    return out


def has_signature(image: Image.Image) -> bool:
    """True when the lower-right corner holds the five colours (each square's mean within 24 per channel)."""
    rgb = np.asarray(image.convert("RGB"), dtype=np.float32)
    height, width = rgb.shape[:2]
    side = max(2, min(width, height) // 64)
    x0 = width - side * len(COLOURS)
    if x0 < 0:
        return False
    for i, colour in enumerate(COLOURS):
        mean = rgb[height - side :, x0 + i * side : x0 + (i + 1) * side].reshape(-1, 3).mean(axis=0)
        if np.abs(mean - np.asarray(colour)).max() > 24:
            return False
    return True
