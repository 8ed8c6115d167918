"""GLIDE-style residual block: GroupNorm, SiLU, conv, timestep conditioning, optional up/down sampling."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class ResBlock(nn.Module):
    """Residual block conditioned on the timestep embedding.

    With `scale_shift` the embedding modulates the second normalisation as `norm(h) * (1 + scale) +
    shift` (the "scale-shift norm" of improved DDPM); otherwise it is added before the norm. With
    `up`/`down` the block also resamples (nearest-neighbour / 2x2 average pool) both its input and its
    hidden state, which is how GLIDE's U-Nets change resolution.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        emb_dim: int,
        *,
        scale_shift: bool = True,
        up: bool = False,
        down: bool = False,
        groups: int = 32,
        eps: float = 1e-5,
        dropout: float = 0.0,
    ):
        super().__init__()
        self.scale_shift = scale_shift
        self.up, self.down = up, down
        self.norm1 = nn.GroupNorm(groups, in_channels, eps=eps)
        self.conv1 = nn.Conv2d(in_channels, out_channels, 3, padding=1)
        self.emb_proj = nn.Linear(emb_dim, out_channels * (2 if scale_shift else 1))
        self.norm2 = nn.GroupNorm(groups, out_channels, eps=eps)
        self.dropout = nn.Dropout(dropout)
        self.conv2 = nn.Conv2d(out_channels, out_channels, 3, padding=1)
        self.skip = nn.Conv2d(in_channels, out_channels, 1) if in_channels != out_channels else None

    def _resample(self, x: torch.Tensor) -> torch.Tensor:
        if self.up:
            return F.interpolate(x, scale_factor=2.0, mode="nearest")
        if self.down:
            return F.avg_pool2d(x, kernel_size=2, stride=2)
        return x

    def forward(self, x: torch.Tensor, emb: torch.Tensor) -> torch.Tensor:
        h = F.silu(self.norm1(x))
        if self.up or self.down:
            h, x = self._resample(h), self._resample(x)
        h = self.conv1(h)
        e = self.emb_proj(F.silu(emb))[:, :, None, None]
        if self.scale_shift:
            scale, shift = e.chunk(2, dim=1)
            h = self.norm2(h) * (1 + scale) + shift
        else:
            h = self.norm2(h + e)
        h = self.conv2(self.dropout(F.silu(h)))
        return (x if self.skip is None else self.skip(x)) + h
