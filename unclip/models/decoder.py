"""The decoder: a 64x64 GLIDE-style U-Net that inverts a CLIP image embedding into an image.

Conditioning (DALL-E 2, section 2.1): the CLIP image embedding and the caption's text embedding are
projected and added to the timestep embedding; the image embedding is also projected into
`context_tokens` extra tokens that are concatenated with the (projected, normalised) caption token
features, and every attention layer attends to these context tokens. A learned "null" image embedding
replaces the real one for classifier-free guidance. An inpainting decoder takes 4 more input
channels: the image with the hole zeroed and the mask (GLIDE's inpainting model).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
from torch import nn

from unclip.models.attention import ContextKV
from unclip.models.clip import TextEncoding
from unclip.models.diffusion_config import DiffusionConfig
from unclip.models.unet import UNet, UNetConfig
from unclip.utils.config import Config


@dataclass
class DecoderConfig(Config):
    clip_dim: int = 768
    text_width: int = 768
    image_size: int = 64
    context_tokens: int = 4
    inpainting: bool = False
    unet: UNetConfig = field(
        default_factory=lambda: UNetConfig(
            in_channels=3,
            out_channels=6,
            channels=(320, 640, 960, 1280),
            blocks_per_level=3,
            attention_levels=(False, True, True, True),
            mid_attention=True,
            head_channels=64,
            context_dim=1536,
        )
    )
    diffusion: DiffusionConfig = field(default_factory=lambda: DiffusionConfig(learned_variance=True))

    def __post_init__(self) -> None:
        want_in = 3 + (4 if self.inpainting else 0)
        want_out = 6 if self.diffusion.learned_variance else 3
        if self.unet.in_channels != want_in:
            raise ValueError(f"unet.in_channels must be {want_in} (inpainting={self.inpainting})")
        if self.unet.out_channels != want_out:
            raise ValueError(
                f"unet.out_channels must be {want_out} (learned_variance={self.diffusion.learned_variance})"
            )
        if not self.unet.context_dim:
            raise ValueError(
                "unet.context_dim must be set: the decoder's attention sees caption and CLIP tokens"
            )


@dataclass
class DecoderCond:
    """Everything about the conditioning that stays fixed across sampling steps."""

    extra_emb: torch.Tensor  # [B, emb] added to the timestep embedding
    context: list[ContextKV]  # per attention layer keys/values of the context tokens
    context_mask: torch.Tensor  # [B, tokens + L] bool


class Decoder(nn.Module):
    def __init__(self, config: DecoderConfig):
        super().__init__()
        self.config = cfg = config
        ctx, emb = cfg.unet.context_dim, cfg.unet.time_emb_dim
        assert ctx is not None
        self.null_image_embed = nn.Parameter(torch.zeros(cfg.clip_dim))
        self.image_to_time = nn.Linear(cfg.clip_dim, emb)
        self.text_to_time = nn.Linear(cfg.clip_dim, emb)
        self.image_to_tokens = nn.Linear(cfg.clip_dim, cfg.context_tokens * ctx)
        self.text_hidden_proj = nn.Linear(cfg.text_width, ctx)
        self.text_hidden_norm = nn.LayerNorm(ctx)
        self.unet = UNet(cfg.unet)

    def context_tokens(
        self, image_embeds: torch.Tensor, text: TextEncoding
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Returns (extra time embedding [B, emb], context tokens [B, T+L, ctx], context mask [B, T+L])."""
        dtype = self.image_to_time.weight.dtype
        image_embeds, text_embeds = image_embeds.to(dtype), text.embeds.to(dtype)
        b = image_embeds.shape[0]
        extra = self.image_to_time(image_embeds) + self.text_to_time(text_embeds)
        clip_tokens = self.image_to_tokens(image_embeds).view(b, self.config.context_tokens, -1)
        caption = self.text_hidden_norm(self.text_hidden_proj(text.hidden.to(dtype)))
        tokens = torch.cat([clip_tokens, caption], dim=1)
        mask = torch.cat(
            [text.mask.new_ones(b, self.config.context_tokens, dtype=torch.bool), text.mask.bool()], dim=1
        )
        return extra, tokens, mask

    def null_image_embeds(self, batch: int) -> torch.Tensor:
        return self.null_image_embed[None].expand(batch, -1)

    def condition(self, image_embeds: torch.Tensor, text: TextEncoding) -> DecoderCond:
        extra, tokens, mask = self.context_tokens(image_embeds, text)
        return DecoderCond(extra_emb=extra, context=self.unet.context_kv(tokens), context_mask=mask)

    def denoise(
        self, x_t: torch.Tensor, t: torch.Tensor, cond: DecoderCond, inpaint: torch.Tensor | None = None
    ) -> torch.Tensor:
        """inpaint: [B, 4, H, W] (image with the hole zeroed, mask with 1 = keep) for inpainting decoders."""
        x = x_t.to(self.image_to_time.weight.dtype)
        if self.config.inpainting:
            if inpaint is None:
                raise ValueError("this decoder is an inpainting decoder: pass the masked image and mask")
            x = torch.cat([x, inpaint.to(x.dtype)], dim=1)
        return self.unet(x, t, cond.extra_emb, cond.context, cond.context_mask)

    def forward(
        self,
        x_t: torch.Tensor,
        t: torch.Tensor,
        image_embeds: torch.Tensor,
        text: TextEncoding,
        inpaint: torch.Tensor | None = None,
    ) -> torch.Tensor:
        return self.denoise(x_t, t, self.condition(image_embeds, text), inpaint)
