"""Self-attention over image positions that can also attend to extra context tokens (GLIDE's encoder_kv).

The keys and values are [context tokens, image positions]; context tokens are projected by their own
linear layer. The context projection does not depend on the noisy image, so a sampler can compute it
once per generation (:meth:`SpatialAttention.context_kv`) and pass it to every step.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

ContextKV = tuple[torch.Tensor, torch.Tensor]  # each [B, heads, L, head_dim]


class SpatialAttention(nn.Module):
    def __init__(
        self,
        channels: int,
        head_channels: int,
        context_dim: int | None = None,
        groups: int = 32,
        eps: float = 1e-5,
    ):
        super().__init__()
        if channels % head_channels:
            raise ValueError(f"attention channels {channels} not divisible by head_channels {head_channels}")
        self.heads = channels // head_channels
        self.head_channels = head_channels
        self.norm = nn.GroupNorm(groups, channels, eps=eps)
        self.qkv = nn.Linear(channels, 3 * channels)
        self.context_kv_proj = nn.Linear(context_dim, 2 * channels) if context_dim else None
        self.out = nn.Linear(channels, channels)

    def _split_heads(self, x: torch.Tensor) -> torch.Tensor:
        b, n, _ = x.shape
        return x.view(b, n, self.heads, self.head_channels).transpose(1, 2)

    def context_kv(self, context: torch.Tensor) -> ContextKV:
        """[B, L, context_dim] tokens -> keys and values for them."""
        assert self.context_kv_proj is not None
        k, v = self.context_kv_proj(context).chunk(2, dim=-1)
        return self._split_heads(k), self._split_heads(v)

    def forward(
        self,
        x: torch.Tensor,
        context: ContextKV | None = None,
        context_mask: torch.Tensor | None = None,
    ) -> torch.Tensor:
        b, c, h, w = x.shape
        tokens = self.norm(x).flatten(2).transpose(1, 2)  # [B, HW, C]
        q, k, v = (self._split_heads(t) for t in self.qkv(tokens).chunk(3, dim=-1))
        mask = None
        if context is not None:
            ck, cv = context
            k, v = torch.cat([ck, k], dim=2), torch.cat([cv, v], dim=2)
            if context_mask is not None:
                keep_image = context_mask.new_ones(b, h * w)
                mask = torch.cat([context_mask, keep_image], dim=1)[:, None, None, :]
        out = F.scaled_dot_product_attention(q, k, v, attn_mask=mask)
        out = out.transpose(1, 2).reshape(b, h * w, c)
        return x + self.out(out).transpose(1, 2).reshape(b, c, h, w)
