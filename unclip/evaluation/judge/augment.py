"""Augmentation for training the judge on real emoji: what a generated picture may differ by.

Generated pictures are smaller, blurrier, off-centre, noisier and off-colour compared with the clean
emoji the judge trains on; the judge must still name the concept, and must not learn one style's
line weight or palette as the concept. All of it runs on whole batches of tensors in [-1, 1].
Horizontal flips are left out (arrows and hands have a direction) and hue barely moves (a red apple
and a green apple are different concepts).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F


def _uniform(n: int, lo: float, hi: float, g: torch.Generator) -> torch.Tensor:
    return lo + (hi - lo) * torch.rand(n, generator=g)


def random_affine(x: torch.Tensor, g: torch.Generator) -> torch.Tensor:
    """Scale 0.6-1.15, rotation +-15 degrees, shift up to 12% of the side; the border colour fills in."""
    n = x.shape[0]
    scale = _uniform(n, 0.6, 1.15, g)
    angle = _uniform(n, -15, 15, g) * math.pi / 180
    shift = _uniform(2 * n, -0.12, 0.12, g).view(n, 2) * 2
    cos, sin = torch.cos(angle) / scale, torch.sin(angle) / scale
    theta = torch.stack(
        [torch.stack([cos, -sin, shift[:, 0]], 1), torch.stack([sin, cos, shift[:, 1]], 1)], 1
    )
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    return F.grid_sample(x, grid, mode="bilinear", padding_mode="border", align_corners=False)


def colour_jitter(x: torch.Tensor, g: torch.Generator) -> torch.Tensor:
    """Brightness +-0.15, contrast 0.7-1.3, saturation 0.6-1.4 per image."""
    n = x.shape[0]
    brightness = _uniform(n, -0.15, 0.15, g).view(n, 1, 1, 1)
    contrast = _uniform(n, 0.7, 1.3, g).view(n, 1, 1, 1)
    saturation = _uniform(n, 0.6, 1.4, g).view(n, 1, 1, 1)
    grey = x.mean(dim=1, keepdim=True)
    x = grey + (x - grey) * saturation
    mean = x.mean(dim=(1, 2, 3), keepdim=True)
    return ((x - mean) * contrast + mean + brightness).clamp(-1, 1)


def gaussian_blur(x: torch.Tensor, sigma: float) -> torch.Tensor:
    radius = max(1, math.ceil(2.5 * sigma))
    k = torch.exp(-(torch.arange(-radius, radius + 1, dtype=x.dtype) ** 2) / (2 * sigma**2))
    k = (k / k.sum()).to(x.device)
    c = x.shape[1]
    x = F.pad(x, (radius, radius, radius, radius), mode="replicate")
    x = F.conv2d(x, k.view(1, 1, 1, -1).repeat(c, 1, 1, 1), groups=c)
    return F.conv2d(x, k.view(1, 1, -1, 1).repeat(c, 1, 1, 1), groups=c)


def degrade(x: torch.Tensor, g: torch.Generator) -> torch.Tensor:
    """Per image, one of: unchanged, blurred (sigma 0.6, 1.2 or 2), down to 16, 24 or 32 px and back;
    then noise (sigma up to 0.15) on half of them. Grouped by setting so each runs on a sub-batch."""
    n, _, h, w = x.shape
    out = x.clone()
    kind = torch.randint(0, 7, (n,), generator=g)
    for k, sigma in ((1, 0.6), (2, 1.2), (3, 2.0)):
        idx = (kind == k).nonzero().flatten()
        if len(idx):
            out[idx] = gaussian_blur(x[idx], sigma)
    for k, side in ((4, 16), (5, 24), (6, 32)):
        idx = (kind == k).nonzero().flatten()
        if len(idx):
            small = F.interpolate(x[idx], size=(side, side), mode="area")
            out[idx] = F.interpolate(small, size=(h, w), mode="bilinear", align_corners=False)
    noisy = torch.rand(n, generator=g) < 0.5
    noise_std = _uniform(n, 0.0, 0.15, g).view(n, 1, 1, 1) * noisy.view(n, 1, 1, 1)
    return (out + noise_std * torch.randn(out.shape, generator=g)).clamp(-1, 1)


def augment(x: torch.Tensor, g: torch.Generator) -> torch.Tensor:
    return degrade(colour_jitter(random_affine(x, g), g), g)
