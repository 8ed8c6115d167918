"""Diffusion upsamplers (64->256, 256->1024): attention-free U-Nets conditioned on the low-res image.

The low-resolution image is resized to the output size (bicubic) and concatenated with the noisy
image; being fully convolutional, a model trained on crops runs at any size. An inpainting upsampler
also gets the masked image and mask (4 more channels). Karlo's 64->256 stage uses a second network
for the final step only; `separate_last_step` supports that.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from torch import nn

from unclip.models.diffusion_config import DiffusionConfig
from unclip.models.unet import UNet, UNetConfig
from unclip.utils.config import Config


@dataclass
class UpsamplerConfig(Config):
    low_res: int = 64
    high_res: int = 256
    inpainting: bool = False
    separate_last_step: bool = False
    unet: UNetConfig = field(
        default_factory=lambda: UNetConfig(
            in_channels=6, out_channels=3, channels=(320, 640, 960, 1280), blocks_per_level=3
        )
    )
    diffusion: DiffusionConfig = field(default_factory=DiffusionConfig)

    def __post_init__(self) -> None:
        want_in = 6 + (4 if self.inpainting else 0)
        want_out = 6 if self.diffusion.learned_variance else 3
        if self.unet.in_channels != want_in:
            raise ValueError(f"unet.in_channels must be {want_in} (inpainting={self.inpainting})")
        if self.unet.out_channels != want_out:
            raise ValueError(
                f"unet.out_channels must be {want_out} (learned_variance={self.diffusion.learned_variance})"
            )
        if any(self.unet.attention_levels or ()) or self.unet.mid_attention:
            raise ValueError("upsamplers have no attention (attention_levels all false, mid_attention false)")
        if self.high_res % self.low_res:
            raise ValueError(f"high_res {self.high_res} is not a multiple of low_res {self.low_res}")


def upsample_low_res(low_res: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """The conditioning image: bicubic resize (the same resize at training and sampling time)."""
    return F.interpolate(low_res, size=size, mode="bicubic", align_corners=False, antialias=True)


class Upsampler(nn.Module):
    def __init__(self, config: UpsamplerConfig):
        super().__init__()
        self.config = config
        self.unet = UNet(config.unet)
        self.unet_last = UNet(config.unet) if config.separate_last_step else None

    def denoise(
        self,
        x_t: torch.Tensor,
        t: torch.Tensor,
        low_res_up: torch.Tensor,
        inpaint: torch.Tensor | None = None,
        last_step: bool = False,
    ) -> torch.Tensor:
        """low_res_up: the low-res image already resized to x_t's size (see :func:`upsample_low_res`)."""
        dtype = self.unet.conv_in.weight.dtype
        parts = [x_t.to(dtype), low_res_up.to(dtype)]
        if self.config.inpainting:
            if inpaint is None:
                raise ValueError("this upsampler is an inpainting upsampler: pass the masked image and mask")
            parts.append(inpaint.to(dtype))
        net = self.unet_last if (last_step and self.unet_last is not None) else self.unet
        return net(torch.cat(parts, dim=1), t)

    def forward(
        self, x_t: torch.Tensor, t: torch.Tensor, low_res: torch.Tensor, inpaint: torch.Tensor | None = None
    ) -> torch.Tensor:
        return self.denoise(x_t, t, upsample_low_res(low_res, (x_t.shape[-2], x_t.shape[-1])), inpaint)
