"""The GLIDE-style U-Net shared by the decoder and the upsamplers.

Layout (as in GLIDE / improved DDPM with `resblock_updown`): an input conv; per resolution level
`blocks_per_level` residual blocks (each optionally followed by attention), then a down-sampling
residual block; a middle of residual-attention-residual; the mirror image on the way up with
`blocks_per_level + 1` blocks per level fed by the skip connections, up-sampling residual blocks
between levels; GroupNorm, SiLU and an output conv. Attention layers may also attend to context
tokens (caption features and CLIP tokens for the decoder); upsamplers use no attention at all.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from unclip.models.attention import ContextKV, SpatialAttention
from unclip.models.embeddings import TimestepMLP
from unclip.models.resblock import ResBlock
from unclip.utils.config import Config


@dataclass
class UNetConfig(Config):
    in_channels: int = 3
    out_channels: int = 3
    channels: tuple[int, ...] = (64, 128, 192, 256)
    blocks_per_level: int = 2
    attention_levels: tuple[bool, ...] | None = None  # per level; default: no attention
    mid_attention: bool = False
    head_channels: int = 64
    context_dim: int | None = None
    scale_shift: bool = True
    emb_dim: int | None = None  # width of the timestep embedding; default 4 * channels[0]
    groups: int = 32
    eps: float = 1e-5
    dropout: float = 0.0

    def __post_init__(self) -> None:
        if self.attention_levels is None:
            self.attention_levels = (False,) * len(self.channels)
        if len(self.attention_levels) != len(self.channels):
            raise ValueError(
                f"attention_levels has {len(self.attention_levels)} entries but channels has {len(self.channels)}"
            )
        bad = [c for c in self.channels if c % self.groups]
        if bad:
            raise ValueError(f"channels {bad} are not divisible by groups={self.groups}")

    @property
    def time_emb_dim(self) -> int:
        return self.emb_dim or 4 * self.channels[0]


class _Level(nn.Module):
    def __init__(self, res: list[ResBlock], attn: list[SpatialAttention], resample: ResBlock | None):
        super().__init__()
        self.res = nn.ModuleList(res)
        self.attn = nn.ModuleList(attn)
        self.resample: ResBlock | None = resample


class UNet(nn.Module):
    def __init__(self, config: UNetConfig):
        super().__init__()
        self.config = cfg = config
        emb = cfg.time_emb_dim

        def res(cin: int, cout: int, **kw: bool) -> ResBlock:
            return ResBlock(
                cin,
                cout,
                emb,
                scale_shift=cfg.scale_shift,
                groups=cfg.groups,
                eps=cfg.eps,
                dropout=cfg.dropout,
                **kw,
            )

        def attn(ch: int) -> SpatialAttention:
            return SpatialAttention(ch, cfg.head_channels, cfg.context_dim, groups=cfg.groups, eps=cfg.eps)

        self.time_embed = TimestepMLP(cfg.channels[0], emb)
        self.conv_in = nn.Conv2d(cfg.in_channels, cfg.channels[0], 3, padding=1)

        attention = cfg.attention_levels
        assert attention is not None  # UNetConfig.__post_init__ fills it
        skips = [cfg.channels[0]]
        ch = cfg.channels[0]
        last = len(cfg.channels) - 1
        self.down: list[_Level] = nn.ModuleList()  # type: ignore[assignment]
        for level, out in enumerate(cfg.channels):
            blocks, attns = [], []
            for _ in range(cfg.blocks_per_level):
                blocks.append(res(ch, out))
                ch = out
                if attention[level]:
                    attns.append(attn(ch))
                skips.append(ch)
            down = res(ch, ch, down=True) if level != last else None
            if down is not None:
                skips.append(ch)
            self.down.append(_Level(blocks, attns, down))

        self.mid_res1 = res(ch, ch)
        self.mid_attn = attn(ch) if cfg.mid_attention else None
        self.mid_res2 = res(ch, ch)

        self.up: list[_Level] = nn.ModuleList()  # type: ignore[assignment]
        for level in reversed(range(len(cfg.channels))):
            out = cfg.channels[level]
            blocks, attns = [], []
            for _ in range(cfg.blocks_per_level + 1):
                blocks.append(res(ch + skips.pop(), out))
                ch = out
                if attention[level]:
                    attns.append(attn(ch))
            up = res(ch, ch, up=True) if level != 0 else None
            self.up.append(_Level(blocks, attns, up))

        self.norm_out = nn.GroupNorm(cfg.groups, ch, eps=cfg.eps)
        self.conv_out = nn.Conv2d(ch, cfg.out_channels, 3, padding=1)
        self.attention_layers = [m for m in self.modules() if isinstance(m, SpatialAttention)]
        self._zero_init()

    def _zero_init(self) -> None:
        """Zero the last layer of every residual branch and the output conv (GLIDE's zero_module)."""
        for m in self.modules():
            if isinstance(m, ResBlock):
                nn.init.zeros_(m.conv2.weight)
                nn.init.zeros_(m.conv2.bias)  # type: ignore[arg-type]
            elif isinstance(m, SpatialAttention):
                nn.init.zeros_(m.out.weight)
                nn.init.zeros_(m.out.bias)  # type: ignore[arg-type]
        nn.init.zeros_(self.conv_out.weight)
        nn.init.zeros_(self.conv_out.bias)  # type: ignore[arg-type]

    def context_kv(self, context: torch.Tensor) -> list[ContextKV]:
        """Project context tokens for every attention layer once; pass the result to many forwards."""
        return [layer.context_kv(context) for layer in self.attention_layers]

    def forward(
        self,
        x: torch.Tensor,
        t: torch.Tensor,
        extra_emb: torch.Tensor | None = None,
        context: torch.Tensor | list[ContextKV] | None = None,
        context_mask: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """x: [B, in, H, W]; t: [B] timesteps; extra_emb: [B, emb] added to the time embedding;
        context: [B, L, context_dim] tokens (or their precomputed keys/values); context_mask: [B, L]."""
        emb = self.time_embed(t)
        if extra_emb is not None:
            emb = emb + extra_emb.to(emb.dtype)
        if isinstance(context, torch.Tensor):
            context = self.context_kv(context)
        kv = iter(context) if context is not None else None

        def attend(layer: SpatialAttention, h: torch.Tensor) -> torch.Tensor:
            return layer(h, next(kv) if kv is not None else None, context_mask)

        h = self.conv_in(x)
        skips = [h]
        for level in self.down:
            for i, block in enumerate(level.res):
                h = block(h, emb)
                if len(level.attn):
                    h = attend(level.attn[i], h)  # type: ignore[arg-type]
                skips.append(h)
            if level.resample is not None:
                h = level.resample(h, emb)
                skips.append(h)

        h = self.mid_res1(h, emb)
        if self.mid_attn is not None:
            h = attend(self.mid_attn, h)
        h = self.mid_res2(h, emb)

        for level in self.up:
            for i, block in enumerate(level.res):
                h = block(torch.cat([h, skips.pop()], dim=1), emb)
                if len(level.attn):
                    h = attend(level.attn[i], h)  # type: ignore[arg-type]
            if level.resample is not None:
                h = level.resample(h, emb)
        return self.conv_out(F.silu(self.norm_out(h)))
