"""Masks: DALL-E 2's mask conventions for user input, and random masks for inpainting training.

Two polarities, named to avoid mix-ups:
- an *edit region* (`np.ndarray` bool or `torch.BoolTensor`): True = the area to (re)generate;
- a *keep mask* (tensor): True / 1.0 = known pixels. The inpainting networks' extra channels are the
  image with the edit region zeroed and the keep mask (GLIDE's convention).
"""

from __future__ import annotations

import math
from typing import Literal

import numpy as np
import torch
from PIL import Image

from unclip.errors import InputError
from unclip.pipeline.editing.inputs import FitPlan, alpha_array, has_transparency

MaskMode = Literal["alpha", "white-edits", "black-edits"]
MASK_MODES: tuple[str, ...] = ("alpha", "white-edits", "black-edits")


def edit_region(image: Image.Image, mask: Image.Image | None, mode: MaskMode = "alpha") -> np.ndarray:
    """The edit region (bool [H, W], True = regenerate) from a mask image, DALL-E 2 style.

    mode "alpha": fully transparent pixels (alpha == 0) of `mask` are edited; a mask without alpha
    channel (mode L) is read as the alpha channel itself. With `mask` None, the image's own alpha.
    mode "white-edits" / "black-edits": a black-and-white mask whose white (>= 128) / black pixels
    are edited (alpha, if any, is ignored).
    """
    if mode not in MASK_MODES:
        raise InputError(f"mask mode: must be one of {list(MASK_MODES)}, got {mode!r}")
    if mask is None:
        if mode != "alpha":
            raise InputError(f"mask: mask mode {mode!r} needs a mask image")
        if not has_transparency(image):
            raise InputError(
                f"image: no mask was given and the image has no alpha channel (mode {image.mode}); pass a mask, "
                "or an RGBA image whose fully transparent pixels mark the area to edit"
            )
        region = alpha_array(image) == 0
        what = "image alpha channel"
    else:
        if mask.size != image.size:
            raise InputError(
                f"mask: size {mask.size[0]}x{mask.size[1]} does not match the image's "
                f"{image.size[0]}x{image.size[1]}"
            )
        if mode == "alpha":
            if has_transparency(mask):
                region = alpha_array(mask) == 0
            elif mask.mode in ("L", "1"):
                region = np.asarray(mask.convert("L")) == 0
            else:
                raise InputError(
                    f"mask: mode {mask.mode} has no alpha channel; use a PNG with transparency, or "
                    "--mask-mode white-edits / black-edits for a black-and-white mask"
                )
            what = "mask (fully transparent pixels)"
        else:
            grey = np.asarray(mask.convert("RGB").convert("L"))
            region = grey >= 128 if mode == "white-edits" else grey < 128
            what = f"mask ({'white' if mode == 'white-edits' else 'black'} pixels)"
    if not region.any():
        raise InputError(f"mask: the {what} mark no pixel to edit; the mask covers nothing")
    return region


def fit_region(region: np.ndarray, plan: FitPlan) -> np.ndarray:
    """Crop or pad an edit region like the image (padding is edited), then resize it conservatively:
    an output pixel is edited when any part of it was."""
    if plan.mode == "crop":
        square = region[plan.top : plan.top + plan.side, plan.left : plan.left + plan.side]
    else:
        square = np.ones((plan.side, plan.side), dtype=bool)
        h, w = region.shape
        square[plan.top : plan.top + h, plan.left : plan.left + w] = region
    if plan.side != plan.size:
        img = Image.fromarray(square.astype(np.float32), mode="F")
        square = np.asarray(img.resize((plan.size, plan.size), Image.Resampling.BOX)) > 0
    if not square.any():
        raise InputError("mask: after centre-cropping the image to a square, the mask covers nothing")
    return square


# ---------------------------------------------------------------------------- training masks
def _rand(generator: torch.Generator | None, lo: float = 0.0, hi: float = 1.0) -> float:
    return lo + (hi - lo) * float(torch.rand((), generator=generator))


def _randint(generator: torch.Generator | None, lo: int, hi: int) -> int:
    """Uniform integer in [lo, hi] (inclusive)."""
    return int(torch.randint(lo, hi + 1, (), generator=generator))


def _box(h: int, w: int, g: torch.Generator | None) -> torch.Tensor:
    mask = torch.zeros(h, w, dtype=torch.bool)
    for _ in range(_randint(g, 1, 3)):
        bh, bw = max(1, round(h * _rand(g, 0.1, 0.6))), max(1, round(w * _rand(g, 0.1, 0.6)))
        top, left = _randint(g, 0, h - bh), _randint(g, 0, w - bw)
        mask[top : top + bh, left : left + bw] = True
    return mask


def _strokes(h: int, w: int, g: torch.Generator | None) -> torch.Tensor:
    """1-4 brush strokes: random walks of 3-9 segments, drawn as thick lines with round ends."""
    ys = torch.arange(h, dtype=torch.float32)[:, None]
    xs = torch.arange(w, dtype=torch.float32)[None, :]
    mask = torch.zeros(h, w, dtype=torch.bool)
    side = min(h, w)
    for _ in range(_randint(g, 1, 4)):
        radius = side * _rand(g, 0.02, 0.08)
        y, x = _rand(g, 0, h - 1), _rand(g, 0, w - 1)
        angle = _rand(g, 0, 2 * math.pi)
        for _ in range(_randint(g, 3, 9)):
            angle += _rand(g, -1.2, 1.2)
            length = side * _rand(g, 0.05, 0.25)
            y2 = min(max(y + length * math.sin(angle), 0.0), h - 1.0)
            x2 = min(max(x + length * math.cos(angle), 0.0), w - 1.0)
            dy, dx = y2 - y, x2 - x
            seg2 = dy * dy + dx * dx
            s = ((ys - y) * dy + (xs - x) * dx) / seg2 if seg2 > 0 else torch.zeros(1, 1)
            s = s.clamp(0, 1)
            dist2 = (ys - (y + s * dy)) ** 2 + (xs - (x + s * dx)) ** 2
            mask |= dist2 <= radius * radius
            y, x = y2, x2
    return mask


def _border(h: int, w: int, g: torch.Generator | None) -> torch.Tensor:
    """Outpainting: 1-4 sides cleared by 10-50% each, or all but an inner rectangle (uncropping)."""
    mask = torch.zeros(h, w, dtype=torch.bool)
    if _rand(g) < 0.3:
        ih, iw = max(1, round(h * _rand(g, 0.3, 0.8))), max(1, round(w * _rand(g, 0.3, 0.8)))
        top, left = _randint(g, 0, h - ih), _randint(g, 0, w - iw)
        mask[:] = True
        mask[top : top + ih, left : left + iw] = False
        return mask
    sides = [i for i in range(4) if _rand(g) < 0.4] or [_randint(g, 0, 3)]
    for side in sides:
        frac = _rand(g, 0.1, 0.5)
        n = max(1, round((h if side < 2 else w) * frac))
        if side == 0:
            mask[:n] = True
        elif side == 1:
            mask[h - n :] = True
        elif side == 2:
            mask[:, :n] = True
        else:
            mask[:, w - n :] = True
    return mask


TRAINING_MASK_KINDS = {"box": _box, "strokes": _strokes, "border": _border}
DEFAULT_MASK_WEIGHTS = {"box": 0.35, "strokes": 0.35, "border": 0.25, "full": 0.05}


def random_training_mask(
    h: int,
    w: int,
    generator: torch.Generator | None = None,
    weights: dict[str, float] | None = None,
) -> torch.BoolTensor:
    """A random edit region [h, w] (True = region to repaint) for GLIDE-style inpainting fine-tuning.

    Kinds, drawn with `weights` (default `DEFAULT_MASK_WEIGHTS`): "box" (1-3 rectangles of 10-60% of
    each side), "strokes" (1-4 free-form brush strokes), "border" (outpainting: sides cleared, or all but
    an inner rectangle), "full" (everything: keeps plain text-to-image ability). Never empty;
    deterministic for a seeded CPU `generator`.
    """
    weights = weights or DEFAULT_MASK_WEIGHTS
    unknown = set(weights) - set(TRAINING_MASK_KINDS) - {"full"}
    if unknown:
        raise ValueError(f"unknown mask kind(s) {sorted(unknown)}; kinds: box, strokes, border, full")
    if h < 1 or w < 1:
        raise ValueError(f"mask size must be positive, got {h}x{w}")
    names = list(weights)
    probs = torch.tensor([float(weights[n]) for n in names])
    kind = names[int(torch.multinomial(probs, 1, generator=generator))]
    if kind == "full":
        return torch.ones(h, w, dtype=torch.bool)  # type: ignore[return-value]
    mask = TRAINING_MASK_KINDS[kind](h, w, generator)
    if not mask.any():
        mask[_randint(generator, 0, h - 1), _randint(generator, 0, w - 1)] = True
    return mask  # type: ignore[return-value]


# ---------------------------------------------------------------------------- keep masks per stage
def grow_keep(keep: torch.Tensor, size: int) -> torch.Tensor:
    """Grow a bool keep mask [B, 1, S, S] to `size` (a multiple of S): each pixel takes its source
    pixel's value. (Shrinking is `inpaint.Known.at`'s job: it needs the known share of each pixel.)"""
    s = keep.shape[-1]
    if size % s:
        raise ValueError(f"cannot grow a {s} px mask to {size} px")
    return keep.repeat_interleave(size // s, dim=-2).repeat_interleave(size // s, dim=-1)


def erode(keep: torch.Tensor, pixels: int) -> torch.Tensor:
    """Shrink a bool keep mask [B, 1, H, W] by `pixels` (8-neighbourhood)."""
    if pixels <= 0:
        return keep
    hole = (~keep).float()
    return ~(torch.nn.functional.max_pool2d(hole, 2 * pixels + 1, stride=1, padding=pixels) > 0)
