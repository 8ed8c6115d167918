"""Masks: DALL-E 2's mask conventions for user input, and keep masks per cascade stage. (The random
masks that inpainting networks are trained with are in `unclip.models.inpainting`.)

Two polarities, named to avoid mix-ups:
- an *edit region* (`np.ndarray` bool or `torch.BoolTensor`): True = the area to (re)generate;
- a *keep mask* (tensor): True / 1.0 = known pixels. The inpainting networks' extra channels are the
  image with the edit region zeroed and the keep mask (GLIDE's convention).
"""

from __future__ import annotations

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
