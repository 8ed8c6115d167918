"""Pixel-space finishing of an edit: soften the seam inside the edit region, then paste the
original pixels back outside it exactly (in uint8, so nothing outside the region changes by even 1)."""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image


def _gaussian_blur(x: torch.Tensor, sigma: float) -> torch.Tensor:
    radius = max(1, math.ceil(2.5 * sigma))
    coords = torch.arange(-radius, radius + 1, dtype=x.dtype, device=x.device)
    kernel = torch.exp(-0.5 * (coords / sigma) ** 2)
    kernel = kernel / kernel.sum()
    c = x.shape[1]
    kx = kernel.view(1, 1, 1, -1).expand(c, 1, 1, -1)
    ky = kernel.view(1, 1, -1, 1).expand(c, 1, -1, 1)
    x = F.conv2d(F.pad(x, (radius, radius, 0, 0), mode="replicate"), kx, groups=c)
    return F.conv2d(F.pad(x, (0, 0, radius, radius), mode="replicate"), ky, groups=c)


def _smooth(x: torch.Tensor, sigma: float) -> torch.Tensor:
    """A wide Gaussian blur, computed at a reduced resolution (the result is low-frequency anyway)."""
    factor = max(1, int(sigma // 4))
    if factor == 1:
        return _gaussian_blur(x, sigma)
    size = x.shape[-2:]
    small = F.interpolate(x, scale_factor=1 / factor, mode="area")
    return F.interpolate(
        _gaussian_blur(small, sigma / factor), size=size, mode="bilinear", align_corners=False
    )


def soften_seam(generated: torch.Tensor, known: torch.Tensor, keep: torch.Tensor, width: int) -> torch.Tensor:
    """Remove low-frequency colour offsets across the edit region's border.

    Near the border inside the region, each pixel moves by (local mean of the kept side - local mean
    of the generated side), both Gaussian-weighted means (sigma = width / 2) over their own side only,
    faded from 1 at the border to 0 about `width` px in (the fade is the blurred keep mask). Texture
    is untouched and kept pixels never change.
    generated, known: [B, 3, H, W] in [-1, 1]; keep: bool [1 or B, 1, H, W].
    """
    if width <= 0 or keep.all() or not keep.any():
        return generated
    keep = keep.expand(generated.shape[0], 1, *keep.shape[-2:])
    kf, hf = keep.float(), (~keep).float()
    sigma = max(width / 2, 1.0)
    eps = 1e-3
    w_keep, w_hole = _smooth(kf, sigma), _smooth(hf, sigma)
    mean_keep = _smooth(known.float() * kf, sigma) / w_keep.clamp_min(eps)
    mean_hole = _smooth(generated.float() * hf, sigma) / w_hole.clamp_min(eps)
    fade = ((2 * w_keep - 0.05) / 0.95).clamp(0, 1) * hf
    return (generated.float() + fade * (mean_keep - mean_hole)).clamp(-1, 1).to(generated.dtype)


def to_uint8(images: torch.Tensor) -> np.ndarray:
    """[B, 3, H, W] in [-1, 1] -> uint8 [B, H, W, 3], rounding as `tensor_to_pil` does."""
    arr = ((images.detach().float().clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8)
    return arr.permute(0, 2, 3, 1).cpu().numpy()


def composite_exact(generated: np.ndarray, original: np.ndarray, region: np.ndarray) -> np.ndarray:
    """uint8 [B, H, W, 3]: generated pixels inside `region` ([H, W] bool), original ones elsewhere."""
    return np.where(region[None, :, :, None], generated, original[None] if original.ndim == 3 else original)


def to_pil(batch: np.ndarray) -> list[Image.Image]:
    return [Image.fromarray(np.ascontiguousarray(a), "RGB") for a in batch]
