"""The set of networks that make up an unCLIP model (`Cascade`), and the component names a model directory may hold."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import torch
from torch import nn

from unclip.cascade.settings import SamplingConfig
from unclip.models.clip import ClipConfig, ClipModel
from unclip.models.decoder import Decoder, DecoderConfig
from unclip.models.prior import Prior, PriorConfig
from unclip.models.upsampler import Upsampler, UpsamplerConfig
from unclip.utils.config import Config

if TYPE_CHECKING:
    from unclip.models.tokenizer import ClipTokenizer

# component name -> (config class, module class). Inpainting variants are optional.
COMPONENTS: dict[str, tuple[type[Config], type[nn.Module]]] = {
    "clip": (ClipConfig, ClipModel),
    "prior": (PriorConfig, Prior),
    "decoder": (DecoderConfig, Decoder),
    "upsampler_256": (UpsamplerConfig, Upsampler),
    "upsampler_1024": (UpsamplerConfig, Upsampler),
    "decoder_inpaint": (DecoderConfig, Decoder),
    "upsampler_256_inpaint": (UpsamplerConfig, Upsampler),
    "upsampler_1024_inpaint": (UpsamplerConfig, Upsampler),
}
REQUIRED = ("clip", "prior", "decoder", "upsampler_256")


@dataclass
class Cascade:
    """The loaded networks of one model directory."""

    tokenizer: ClipTokenizer
    modules: dict[str, nn.Module]
    sampling: SamplingConfig = field(default_factory=SamplingConfig)
    attribution: str | None = None

    @property
    def clip(self) -> ClipModel:
        return self.modules["clip"]  # type: ignore[return-value]

    @property
    def prior(self) -> Prior:
        return self.modules["prior"]  # type: ignore[return-value]

    @property
    def decoder(self) -> Decoder:
        return self.modules["decoder"]  # type: ignore[return-value]

    def upsampler(self, size: int, inpaint: bool = False) -> Upsampler | None:
        return self.modules.get(f"upsampler_{size}" + ("_inpaint" if inpaint else ""))  # type: ignore[return-value]

    def to(self, device: torch.device | str | None = None, dtype: torch.dtype | None = None) -> Cascade:
        for module in self.modules.values():
            module.to(device=device, dtype=dtype)
        return self

    def eval(self) -> Cascade:
        for module in self.modules.values():
            module.eval().requires_grad_(False)
        return self
