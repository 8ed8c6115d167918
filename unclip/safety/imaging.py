"""PIL images to the small RGB arrays the detectors read."""

from __future__ import annotations

import numpy as np
from PIL import Image

WORK_SHORT_SIDE = 320  # both detectors work at or below this resolution (faces 256, NudeNet 320)


def to_rgb_array(image: Image.Image, short_side: int = WORK_SHORT_SIDE) -> np.ndarray:
    """``image`` as an ``[H, W, 3]`` uint8 RGB array, shrunk so its shorter side is at most ``short_side``.

    Transparent pixels are composited on white; 16-bit and float images are converted by PIL.
    """
    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        canvas = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        image = Image.alpha_composite(canvas, rgba)
    if image.mode != "RGB":
        image = image.convert("RGB")
    w, h = image.size
    if min(w, h) > short_side:
        scale = short_side / min(w, h)
        image = image.resize(
            (max(1, round(w * scale)), max(1, round(h * scale))), Image.Resampling.BILINEAR, reducing_gap=2.0
        )
    return np.asarray(image, dtype=np.uint8)
