"""diffusers' Karlo networks with random weights, at Karlo's sizes or reduced widths.

The reference side of the equivalence checks (tests/convert, benchmarks/karlo_gpu.py): the same
classes and block structure Karlo's published weights load into, with every parameter randomised
(including the ones diffusers initialises to zero or one), so that converted outputs can be compared
with diffusers' own. Needs diffusers (a development dependency), imported lazily.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn
from transformers import CLIPTokenizer

from unclip.models.tokenizer import ClipTokenizer


@dataclass(frozen=True)
class KarloSizes:
    """Widths and depths of every Karlo network; :data:`KARLO_FULL` are the published ones."""

    clip_dim: int = 768  # CLIP embedding = text width = prior embedding_dim
    text_layers: int = 12
    text_heads: int = 12
    text_intermediate: int = 3072
    max_tokens: int = 77
    vision_width: int = 1024
    vision_layers: int = 24
    vision_heads: int = 16
    vision_intermediate: int = 4096
    image_size: int = 224
    patch_size: int = 14
    prior_heads: int = 32
    prior_head_dim: int = 64
    prior_layers: int = 20
    decoder_channels: tuple[int, ...] = (320, 640, 960, 1280)
    decoder_layers: int = 3
    decoder_head_dim: int = 64
    cross_attention_dim: int = 1536
    decoder_groups: int = 32
    decoder_size: int = 64
    sr_channels: tuple[int, ...] = (320, 640, 960, 1280)
    sr_layers: int = 3
    sr_groups: int = 32
    sr_size: int = 256


KARLO_FULL = KarloSizes()
# Karlo's block structure (4 levels, 3 blocks per level, attention on the lower three levels and the
# middle; 256 px super-resolution) at widths small enough for a CPU test. The decoder samples 16 px
# (it is fully convolutional; both pipelines upsample whatever it makes to 256 px).
KARLO_TINY = KarloSizes(
    clip_dim=24,
    text_layers=2,
    text_heads=2,
    text_intermediate=48,
    max_tokens=77,
    vision_width=32,
    vision_layers=2,
    vision_heads=2,
    vision_intermediate=64,
    image_size=32,
    patch_size=8,
    prior_heads=2,
    prior_head_dim=16,
    prior_layers=2,
    decoder_channels=(16, 32, 48, 64),
    decoder_layers=3,
    decoder_head_dim=16,
    cross_attention_dim=32,
    decoder_groups=8,
    decoder_size=16,
    sr_channels=(4, 8, 12, 16),
    sr_layers=3,
    sr_groups=4,
)


def randomize_(module: nn.Module, seed: int) -> nn.Module:
    """Give every parameter random values: linear/conv weights ~ N(0, 1/fan_in), norm scales ~ 1 +
    N(0, 0.1^2), biases ~ N(0, 0.1^2), embeddings and other free parameters ~ N(0, 0.5^2), the prior's
    CLIP std in [0.05, ~0.4]. Nothing keeps a zero (or one) initialisation, so every parameter
    affects the output."""
    device = next(module.parameters()).device
    g = torch.Generator(device=device).manual_seed(seed)  # on the module's device: fast for big nets
    norm_weights, layer_weights = set(), set()
    for m in module.modules():
        if isinstance(m, (nn.LayerNorm, nn.GroupNorm)) and m.weight is not None:
            norm_weights.add(id(m.weight))
        elif isinstance(m, (nn.Linear, nn.Conv2d)):
            layer_weights.add(id(m.weight))
    with torch.no_grad():
        for name, p in module.named_parameters():
            r = torch.randn(p.shape, generator=g, device=device)
            if name.endswith("clip_std"):
                value = 0.05 + 0.1 * r.abs()  # the scale of CLIP embedding components
            elif id(p) in norm_weights:
                value = 1 + 0.1 * r
            elif id(p) in layer_weights:
                value = r / (p[0].numel() ** 0.5)
            elif name.endswith("bias"):
                value = 0.1 * r
            else:
                value = 0.5 * r
            p.copy_(value.to(p.dtype))
    return module


def build_reference(
    sizes: KarloSizes, tokenizer: ClipTokenizer | CLIPTokenizer, seed: int = 0, image_encoder: bool = True
) -> dict[str, Any]:
    """diffusers/transformers modules named like Karlo's folders, randomised, plus the 3 schedulers."""
    from diffusers import PriorTransformer, UnCLIPScheduler, UNet2DConditionModel, UNet2DModel
    from diffusers.pipelines.deprecated.unclip.text_proj import UnCLIPTextProjModel
    from transformers import (
        CLIPTextConfig,
        CLIPTextModelWithProjection,
        CLIPVisionConfig,
        CLIPVisionModelWithProjection,
    )

    s = sizes
    levels = len(s.decoder_channels)
    parts: dict[str, Any] = {
        "prior": PriorTransformer(
            num_attention_heads=s.prior_heads,
            attention_head_dim=s.prior_head_dim,
            num_layers=s.prior_layers,
            embedding_dim=s.clip_dim,
            num_embeddings=s.max_tokens,
            additional_embeddings=4,
        ),
        "text_proj": UnCLIPTextProjModel(
            clip_extra_context_tokens=4,
            clip_embeddings_dim=s.clip_dim,
            time_embed_dim=4 * s.decoder_channels[0],
            cross_attention_dim=s.cross_attention_dim,
        ),
        "decoder": UNet2DConditionModel(
            sample_size=s.decoder_size,
            layers_per_block=s.decoder_layers,
            block_out_channels=s.decoder_channels,
            down_block_types=("ResnetDownsampleBlock2D",) + ("SimpleCrossAttnDownBlock2D",) * (levels - 1),
            up_block_types=("SimpleCrossAttnUpBlock2D",) * (levels - 1) + ("ResnetUpsampleBlock2D",),
            mid_block_type="UNetMidBlock2DSimpleCrossAttn",
            in_channels=3,
            out_channels=6,
            cross_attention_dim=s.cross_attention_dim,
            class_embed_type="identity",
            attention_head_dim=s.decoder_head_dim,
            resnet_time_scale_shift="scale_shift",
            norm_num_groups=s.decoder_groups,
        ),
        "text_encoder": CLIPTextModelWithProjection(
            CLIPTextConfig(
                vocab_size=len(tokenizer),
                hidden_size=s.clip_dim,
                intermediate_size=s.text_intermediate,
                num_hidden_layers=s.text_layers,
                num_attention_heads=s.text_heads,
                max_position_embeddings=s.max_tokens,
                projection_dim=s.clip_dim,
                hidden_act="quick_gelu",
                # As in openai/clip-vit-large-patch14: the legacy ids (pooling at the highest token id).
                bos_token_id=0,
                eos_token_id=2,
                pad_token_id=1,
            )
        ),
    }
    for name in ("super_res_first", "super_res_last"):
        parts[name] = UNet2DModel(
            sample_size=s.sr_size,
            layers_per_block=s.sr_layers,
            block_out_channels=s.sr_channels,
            down_block_types=("ResnetDownsampleBlock2D",) * len(s.sr_channels),
            up_block_types=("ResnetUpsampleBlock2D",) * len(s.sr_channels),
            in_channels=6,
            out_channels=3,
            add_attention=False,
            norm_num_groups=s.sr_groups,
        )
    if image_encoder:
        parts["image_encoder"] = CLIPVisionModelWithProjection(
            CLIPVisionConfig(
                hidden_size=s.vision_width,
                intermediate_size=s.vision_intermediate,
                num_hidden_layers=s.vision_layers,
                num_attention_heads=s.vision_heads,
                image_size=s.image_size,
                patch_size=s.patch_size,
                projection_dim=s.clip_dim,
                hidden_act="quick_gelu",
            )
        )
    for i, name in enumerate(sorted(parts)):
        randomize_(parts[name], seed * 100 + i)
        parts[name].eval()
    parts["prior_scheduler"] = UnCLIPScheduler(
        variance_type="fixed_small_log",
        prediction_type="sample",
        num_train_timesteps=1000,
        clip_sample_range=5.0,
    )
    parts["decoder_scheduler"] = UnCLIPScheduler(
        variance_type="learned_range", prediction_type="epsilon", num_train_timesteps=1000
    )
    parts["super_res_scheduler"] = UnCLIPScheduler(
        variance_type="fixed_small_log", prediction_type="epsilon", num_train_timesteps=1000
    )
    return parts


def karlo_tokenizer(tokenizer: ClipTokenizer, directory: str | Path) -> CLIPTokenizer:
    """`tokenizer` as Karlo's ships, as transformers' tokenizer (what diffusers' pipelines take): padding
    with "!" (id 0 in CLIP's vocabulary)."""
    from unclip.models.tokenizer import save_tokenizer

    save_tokenizer(tokenizer, directory)
    return CLIPTokenizer.from_pretrained(
        str(directory), pad_token="!", model_max_length=tokenizer.model_max_length
    )


def text_pipeline(parts: dict[str, Any], tokenizer: CLIPTokenizer):  # type: ignore[no-untyped-def]
    """diffusers' `UnCLIPPipeline` (karlo-v1-alpha's layout) over `parts`."""
    from diffusers.pipelines.deprecated.unclip import UnCLIPPipeline

    names = (
        "prior",
        "decoder",
        "text_encoder",
        "text_proj",
        "super_res_first",
        "super_res_last",
        "prior_scheduler",
        "decoder_scheduler",
        "super_res_scheduler",
    )
    return UnCLIPPipeline(tokenizer=tokenizer, **{n: parts[n] for n in names})


def variation_pipeline(parts: dict[str, Any], tokenizer: CLIPTokenizer):  # type: ignore[no-untyped-def]
    """diffusers' `UnCLIPImageVariationPipeline` (karlo-v1-alpha-image-variations' layout) over `parts`."""
    from diffusers.pipelines.deprecated.unclip import UnCLIPImageVariationPipeline
    from transformers import CLIPImageProcessor

    size = parts["image_encoder"].config.image_size
    processor = CLIPImageProcessor(size={"shortest_edge": size}, crop_size={"height": size, "width": size})
    names = (
        "decoder",
        "text_encoder",
        "text_proj",
        "image_encoder",
        "super_res_first",
        "super_res_last",
        "decoder_scheduler",
        "super_res_scheduler",
    )
    return UnCLIPImageVariationPipeline(
        tokenizer=tokenizer, feature_extractor=processor, **{n: parts[n] for n in names}
    )


def use_float64_schedulers(parts: dict[str, Any]) -> None:
    """Replace the three `UnCLIPScheduler`s by ones doing their arithmetic in float64, as Karlo's
    original code (and unclip) does. diffusers' float32 version differs slightly: e.g. its last step
    scales x0 by `betas[0] / (1 - alphas_cumprod[0])` = 0.99947 instead of 1."""
    from diffusers import UnCLIPScheduler

    from unclip.diffusion import make_betas

    class Float64UnCLIPScheduler(UnCLIPScheduler):
        def __init__(self, **kwargs: Any):
            super().__init__(**kwargs)
            self.betas = make_betas("cosine", self.config.num_train_timesteps)  # type: ignore[attr-defined]
            self.alphas = 1.0 - self.betas
            self.alphas_cumprod = torch.cumprod(self.alphas, dim=0)
            self.one = torch.tensor(1.0, dtype=torch.float64)

        def step(self, model_output, timestep, sample, prev_timestep=None, generator=None, return_dict=True):  # type: ignore[no-untyped-def]
            out = super().step(
                model_output, timestep, sample, prev_timestep=prev_timestep, generator=generator
            )
            return type(out)(
                prev_sample=out.prev_sample.to(sample.dtype), pred_original_sample=out.pred_original_sample
            )

    for name in ("prior_scheduler", "decoder_scheduler", "super_res_scheduler"):
        parts[name] = Float64UnCLIPScheduler(**parts[name].config)
