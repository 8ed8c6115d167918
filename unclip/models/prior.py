"""The diffusion prior: a causal transformer from a caption to a CLIP image embedding.

Input sequence (DALL-E 2, section 2.2): the caption's token features, the CLIP text embedding, the
timestep embedding, the noised image embedding and a final learned query whose output is the
prediction of the clean (normalised) image embedding.

Attention is causal, so the first `L + 1` positions (caption tokens and text embedding) never see
the timestep or the noisy embedding: their keys and values are the same at every sampling step.
:meth:`Prior.encode_prefix` computes them once and :meth:`Prior.denoise` runs only the last three
positions per step, which is exact and makes a sampling step about `(L + 4) / 3` times cheaper.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from torch import nn

from unclip.models.clip import TextEncoding
from unclip.models.diffusion_config import DiffusionConfig
from unclip.models.embeddings import TimestepMLP
from unclip.utils.config import Config


@dataclass
class PriorConfig(Config):
    clip_dim: int = 768  # CLIP embedding size (text and image)
    text_width: int = 768  # width of the caption token features
    max_text_tokens: int = 77
    width: int = 2048
    layers: int = 20
    heads: int = 32
    mlp_ratio: float = 4.0
    norm_in: bool = False
    dropout: float = 0.0
    diffusion: DiffusionConfig = field(
        default_factory=lambda: DiffusionConfig(prediction="x0", clip_range=5.0)
    )

    def __post_init__(self) -> None:
        if self.width % self.heads:
            raise ValueError(f"width {self.width} is not divisible by heads {self.heads}")


@dataclass
class PriorPrefix:
    """Per-layer keys/values of the caption tokens and text embedding, plus their padding mask."""

    kv: list[tuple[torch.Tensor, torch.Tensor]]  # each [B, heads, L+1, head_dim]
    mask: torch.Tensor  # [B, L+1] bool

    def repeat_interleave(self, n: int) -> PriorPrefix:
        if n == 1:
            return self
        return PriorPrefix(
            [(k.repeat_interleave(n, 0), v.repeat_interleave(n, 0)) for k, v in self.kv],
            self.mask.repeat_interleave(n, 0),
        )


class PriorBlock(nn.Module):
    """Pre-norm transformer block: LN -> causal self-attention -> LN -> GELU MLP."""

    def __init__(self, width: int, heads: int, mlp_ratio: float, dropout: float):
        super().__init__()
        self.heads = heads
        self.norm1 = nn.LayerNorm(width)
        self.qkv = nn.Linear(width, 3 * width)
        self.attn_out = nn.Linear(width, width)
        self.norm2 = nn.LayerNorm(width)
        hidden = int(width * mlp_ratio)
        self.mlp_in = nn.Linear(width, hidden)
        self.mlp_out = nn.Linear(hidden, width)
        self.dropout = nn.Dropout(dropout)

    def _heads(self, x: torch.Tensor) -> torch.Tensor:
        b, n, c = x.shape
        return x.view(b, n, self.heads, c // self.heads).transpose(1, 2)

    def forward(
        self,
        x: torch.Tensor,
        mask: torch.Tensor,
        past: tuple[torch.Tensor, torch.Tensor] | None = None,
    ) -> tuple[torch.Tensor, tuple[torch.Tensor, torch.Tensor]]:
        """x: [B, N, W] new positions; past: cached keys/values of earlier positions; mask: [B, 1, N, P+N]
        bool, True where attention is allowed. Returns the output and this call's keys/values."""
        q, k, v = (self._heads(t) for t in self.qkv(self.norm1(x)).chunk(3, dim=-1))
        new_kv = (k, v)
        if past is not None:
            k, v = torch.cat([past[0], k], dim=2), torch.cat([past[1], v], dim=2)
        a = F.scaled_dot_product_attention(q, k, v, attn_mask=mask)
        b, _, n, _ = a.shape
        x = x + self.dropout(self.attn_out(a.transpose(1, 2).reshape(b, n, -1)))
        x = x + self.dropout(self.mlp_out(self.dropout(F.gelu(self.mlp_in(self.norm2(x))))))
        return x, new_kv


def _random(shape: tuple[int, ...], std: float) -> torch.Tensor:
    """Normal values times `std`; on the meta device (where the model loader builds networks, weights to
    follow) an empty tensor: random ops there import torch's reference ops and dynamo (over 1 s)."""
    if torch.empty(0).is_meta:
        return torch.empty(shape)
    return torch.randn(shape) * std


class Prior(nn.Module):
    def __init__(self, config: PriorConfig):
        super().__init__()
        self.config = cfg = config
        w = cfg.width
        self.text_hidden_proj = nn.Linear(cfg.text_width, w)
        self.text_embed_proj = nn.Linear(cfg.clip_dim, w)
        self.time_embed = TimestepMLP(w, w, w)
        self.image_embed_proj = nn.Linear(cfg.clip_dim, w)
        self.query = nn.Parameter(_random((1, 1, w), 0.02))
        self.positions = nn.Parameter(_random((1, cfg.max_text_tokens + 4, w), 0.01))
        self.norm_in = nn.LayerNorm(w) if cfg.norm_in else None
        self.blocks = nn.ModuleList(
            PriorBlock(w, cfg.heads, cfg.mlp_ratio, cfg.dropout) for _ in range(cfg.layers)
        )
        self.norm_out = nn.LayerNorm(w)
        self.out = nn.Linear(w, cfg.clip_dim)
        # Statistics of the training image embeddings: the prior works on (x - mean) / std.
        self.embed_mean: torch.Tensor
        self.embed_std: torch.Tensor
        self.register_buffer("embed_mean", torch.zeros(cfg.clip_dim))
        self.register_buffer("embed_std", torch.ones(cfg.clip_dim))

    def normalize(self, image_embeds: torch.Tensor) -> torch.Tensor:
        return (image_embeds - self.embed_mean) / self.embed_std

    def denormalize(self, z: torch.Tensor) -> torch.Tensor:
        return z * self.embed_std + self.embed_mean

    def _inputs(self, x: torch.Tensor, start: int) -> torch.Tensor:
        x = x + self.positions[:, start : start + x.shape[1]]
        return self.norm_in(x) if self.norm_in is not None else x

    def encode_prefix(self, text: TextEncoding) -> PriorPrefix:
        """Run the caption tokens and text embedding through every layer once."""
        dtype = self.text_hidden_proj.weight.dtype
        hidden = self.text_hidden_proj(text.hidden.to(dtype))
        if hidden.shape[1] != self.config.max_text_tokens:
            raise ValueError(
                f"prior expects {self.config.max_text_tokens} caption tokens, got {hidden.shape[1]}"
            )
        seq = torch.cat([hidden, self.text_embed_proj(text.embeds.to(dtype))[:, None]], dim=1)
        h = self._inputs(seq, 0)
        b, n, _ = h.shape
        key_ok = torch.cat([text.mask.bool(), text.mask.new_ones(b, 1, dtype=torch.bool)], dim=1)
        causal = torch.ones(n, n, dtype=torch.bool, device=h.device).tril()
        mask = causal[None, None] & key_ok[:, None, None, :]
        kv = []
        for block in self.blocks:
            h, layer_kv = block(h, mask)
            kv.append(layer_kv)
        return PriorPrefix(kv=kv, mask=key_ok)

    def denoise(self, z_t: torch.Tensor, t: torch.Tensor, prefix: PriorPrefix) -> torch.Tensor:
        """z_t: [B, D] noised normalised image embedding; returns the model output (x0 by default)."""
        dtype = self.image_embed_proj.weight.dtype
        b = z_t.shape[0]
        start = self.config.max_text_tokens + 1
        seq = torch.cat(
            [
                self.time_embed(t)[:, None],
                self.image_embed_proj(z_t.to(dtype))[:, None],
                self.query.expand(b, -1, -1),
            ],
            dim=1,
        )
        h = self._inputs(seq, start)
        causal = torch.ones(3, 3, dtype=torch.bool, device=h.device).tril()
        mask = torch.cat(
            [prefix.mask[:, None, None, :].expand(b, 1, 3, start), causal.expand(b, 1, 3, 3)], dim=-1
        )
        for block, past in zip(self.blocks, prefix.kv):
            h, _ = block(h, mask, past)
        return self.out(self.norm_out(h[:, -1]))

    def forward(self, z_t: torch.Tensor, t: torch.Tensor, text: TextEncoding) -> torch.Tensor:
        return self.denoise(z_t, t, self.encode_prefix(text))
