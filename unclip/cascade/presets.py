"""Named cascade sizes, built with random weights: `tiny` for tests, `bench` for the speed benchmark.

A preset is the set of component configs; `build_cascade` instantiates them. Trained models are
loaded from model directories instead (see `unclip.cascade.model_dir`).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

import torch

from unclip.cascade.container import Cascade
from unclip.cascade.settings import SamplingConfig, StageSampling
from unclip.models.clip import ClipConfig, ClipModel
from unclip.models.decoder import Decoder, DecoderConfig
from unclip.models.diffusion_config import DiffusionConfig
from unclip.models.prior import Prior, PriorConfig
from unclip.models.tokenizer import train_tokenizer
from unclip.models.unet import UNetConfig
from unclip.models.upsampler import Upsampler, UpsamplerConfig
from unclip.utils.config import Config

if TYPE_CHECKING:
    from unclip.models.tokenizer import ClipTokenizer

SAMPLE_CAPTIONS = [
    "a red apple",
    "a green apple on a table",
    "a cat sitting on a mat",
    "a dog running in the park",
    "grinning face with star eyes",
    "night with stars",
    "a blue car",
    "a house with a red roof",
    "a bowl of soup",
    "a boat on the sea at sunset",
]


def _clip_config(tokenizer: ClipTokenizer, **kw: Any) -> ClipConfig:
    return ClipConfig(
        vocab_size=len(tokenizer),
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
        **kw,
    )


def preset_configs(name: str, tokenizer: ClipTokenizer, inpainting: bool = False) -> dict[str, Config]:
    """Component configs of a named preset ("tiny" or "bench")."""
    if name == "tiny":
        d = 32
        clip = _clip_config(
            tokenizer,
            embed_dim=d,
            text_width=32,
            text_layers=2,
            text_heads=2,
            text_max_tokens=16,
            vision_width=32,
            vision_layers=2,
            vision_heads=2,
            image_size=32,
            patch_size=8,
        )
        prior = PriorConfig(clip_dim=d, text_width=32, max_text_tokens=16, width=64, layers=2, heads=2)
        dec_unet = UNetConfig(
            in_channels=3,
            out_channels=6,
            channels=(32, 64),
            blocks_per_level=1,
            attention_levels=(False, True),
            mid_attention=True,
            head_channels=32,
            context_dim=64,
            groups=8,
        )
        up_unet = UNetConfig(in_channels=6, out_channels=3, channels=(16, 32), blocks_per_level=1, groups=8)
        up2_unet = UNetConfig(in_channels=6, out_channels=3, channels=(8, 16), blocks_per_level=1, groups=8)
    elif name == "bench":
        d = 256
        clip = _clip_config(
            tokenizer,
            embed_dim=d,
            text_width=256,
            text_layers=4,
            text_heads=4,
            text_max_tokens=77,
            vision_width=256,
            vision_layers=4,
            vision_heads=4,
            image_size=64,
            patch_size=8,
        )
        prior = PriorConfig(clip_dim=d, text_width=256, max_text_tokens=77, width=256, layers=6, heads=4)
        dec_unet = UNetConfig(
            in_channels=3,
            out_channels=6,
            channels=(64, 128, 192, 256),
            blocks_per_level=2,
            attention_levels=(False, True, True, True),
            mid_attention=True,
            head_channels=64,
            context_dim=256,
        )
        # Upsamplers add the timestep embedding (no scale-shift), like Karlo's super-resolution U-Net.
        up_unet = UNetConfig(
            in_channels=6, out_channels=3, channels=(32, 64, 128, 256), blocks_per_level=2, scale_shift=False
        )
        up2_unet = UNetConfig(
            in_channels=6,
            out_channels=3,
            channels=(32, 32, 64, 64, 128, 128),
            blocks_per_level=1,
            scale_shift=False,
        )
    else:
        raise ValueError(f"unknown preset {name!r}: 'tiny' or 'bench'")
    configs: dict[str, Config] = {
        "clip": clip,
        "prior": prior,
        "decoder": DecoderConfig(clip_dim=d, text_width=clip.text_width, unet=dec_unet),
        "upsampler_256": UpsamplerConfig(low_res=64, high_res=256, unet=up_unet),
        "upsampler_1024": UpsamplerConfig(
            low_res=256, high_res=1024, unet=up2_unet, diffusion=DiffusionConfig(schedule="linear")
        ),
    }
    if inpainting:
        configs["decoder_inpaint"] = DecoderConfig(
            clip_dim=d,
            text_width=clip.text_width,
            inpainting=True,
            unet=UNetConfig(**{**dec_unet.to_dict(), "in_channels": 7}),
        )
        configs["upsampler_256_inpaint"] = UpsamplerConfig(
            low_res=64,
            high_res=256,
            inpainting=True,
            unet=UNetConfig(**{**up_unet.to_dict(), "in_channels": 10}),
        )
    return configs


_MODULES = {
    ClipConfig: ClipModel,
    PriorConfig: Prior,
    DecoderConfig: Decoder,
    UpsamplerConfig: Upsampler,
}


def randomize_zero_layers(module: torch.nn.Module, std: float = 0.02, seed: int = 0) -> None:
    """Give zero-initialised output layers small random weights, so an untrained network's output
    depends on its inputs (useful for tests and benchmarks of untrained models)."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in module.parameters():
            if p.dim() > 1 and not p.any():
                p.copy_(torch.randn(p.shape, generator=g) * std)


def build_cascade(
    name: str,
    tokenizer: ClipTokenizer | None = None,
    captions: Iterable[str] = SAMPLE_CAPTIONS,
    seed: int = 0,
    inpainting: bool = False,
    randomize: bool = True,
) -> Cascade:
    """A randomly initialised cascade of a preset size (with a tokenizer trained on `captions`)."""
    tokenizer = tokenizer or train_tokenizer(captions, vocab_size=1024, min_frequency=1)
    torch.manual_seed(seed)
    modules = {}
    for comp, config in preset_configs(name, tokenizer, inpainting).items():
        module = _MODULES[type(config)](config)
        if randomize:
            randomize_zero_layers(module, seed=seed)
        modules[comp] = module
    sampling = SamplingConfig(
        prior=StageSampling("ddpm", 25, 4.0),
        decoder=StageSampling("ddpm", 25, 8.0),
        upsampler_256=StageSampling("ddpm", 7, 1.0),
        upsampler_1024=StageSampling("ddim", 7, 1.0),
    )
    return Cascade(tokenizer=tokenizer, modules=modules, sampling=sampling).eval()
