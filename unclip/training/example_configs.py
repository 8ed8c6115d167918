"""Complete example training configs at preset sizes (`unclip train init-config STAGE --preset ...`)."""

from __future__ import annotations

from typing import Any

from unclip.models.clip import ClipConfig
from unclip.models.decoder import DecoderConfig
from unclip.models.diffusion_config import DiffusionConfig
from unclip.models.prior import PriorConfig
from unclip.models.unet import UNetConfig
from unclip.models.upsampler import UpsamplerConfig
from unclip.training import docs
from unclip.training.config import CONFIG_CLASSES

_TOKEN_FIELDS = ("vocab_size", "bos_token_id", "eos_token_id", "pad_token_id")


def preset_models(preset: str) -> dict[str, Any]:
    """Component configs for `preset`: "tiny" (tests, seconds on a CPU), "bench" (the speed benchmark's
    shapes; a laptop-sized model), "paper" (DALL-E 2 / Karlo sizes: needs a GPU cluster)."""
    if preset == "tiny":
        clip = ClipConfig(
            embed_dim=32,
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
        prior = PriorConfig(clip_dim=32, text_width=32, max_text_tokens=16, width=64, layers=2, heads=2)
        dec = UNetConfig(
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
        up = UNetConfig(in_channels=6, out_channels=3, channels=(16, 32), blocks_per_level=1, groups=8)
        up2 = UNetConfig(in_channels=6, out_channels=3, channels=(8, 16), blocks_per_level=1, groups=8)
    elif preset == "bench":
        clip = ClipConfig(
            embed_dim=256,
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
        prior = PriorConfig(clip_dim=256, text_width=256, max_text_tokens=77, width=256, layers=6, heads=4)
        dec = UNetConfig(
            in_channels=3,
            out_channels=6,
            channels=(64, 128, 192, 256),
            blocks_per_level=2,
            attention_levels=(False, True, True, True),
            mid_attention=True,
            head_channels=64,
            context_dim=256,
        )
        up = UNetConfig(in_channels=6, out_channels=3, channels=(32, 64, 128, 256), blocks_per_level=2)
        up2 = UNetConfig(
            in_channels=6, out_channels=3, channels=(32, 32, 64, 64, 128, 128), blocks_per_level=1
        )
    elif preset == "paper":
        clip = ClipConfig(
            embed_dim=768,
            text_width=768,
            text_layers=12,
            text_heads=12,
            text_max_tokens=77,
            vision_width=1024,
            vision_layers=24,
            vision_heads=16,
            image_size=224,
            patch_size=14,
        )
        prior = PriorConfig(clip_dim=768, text_width=768, max_text_tokens=77)
        dec = DecoderConfig().unet
        up = UNetConfig(in_channels=6, out_channels=3, channels=(320, 640, 960, 1280), blocks_per_level=3)
        up2 = UNetConfig(
            in_channels=6, out_channels=3, channels=(192, 192, 384, 384, 768, 768), blocks_per_level=2
        )
    else:
        raise ValueError(f"unknown preset {preset!r}")
    return {
        "clip": clip,
        "prior": prior,
        "decoder": DecoderConfig(clip_dim=clip.embed_dim, text_width=clip.text_width, unet=dec),
        "upsampler_256": UpsamplerConfig(low_res=64, high_res=256, unet=up),
        "upsampler_1024": UpsamplerConfig(
            low_res=256, high_res=1024, unet=up2, diffusion=DiffusionConfig(schedule="linear")
        ),
    }


def example_config(
    stage: str, preset: str, data: str, run_dir: str, clip_run: str, upsampler: int = 256
) -> dict[str, Any]:
    models = preset_models(preset)
    big = preset == "paper"
    cfg: dict[str, Any] = {
        "run_dir": run_dir,
        "data": {"source": data, "num_workers": 4 if big else 2},
        "train": {
            "steps": {"tiny": 200, "bench": 20000, "paper": 800000}[preset],
            "batch_size": {"tiny": 8, "bench": 64, "paper": 2048}[preset],
            "mixed_precision": "bf16" if big else "no",
            "ema_decay": 0.9999 if big else 0.999,
            "checkpoint_every": 200 if preset == "tiny" else 2000,
            "sample_every": 100 if preset == "tiny" else 2000,
            "log_every": 10,
        },
        "optim": {
            "lr": 1e-4,
            "warmup_steps": 20 if preset == "tiny" else 1000,
            "weight_decay": 0.0,
            "grad_clip": 1.0,
        },
    }
    if stage == "clip":
        model = models["clip"].to_dict()
        for k in _TOKEN_FIELDS:
            model.pop(k)
        cfg["optim"].update(lr=5e-4, weight_decay=0.2, betas=[0.9, 0.98], eps=1e-6)
        cfg["clip"] = {"vocab_size": 8192 if preset != "tiny" else 1024, "model": model}
    elif stage == "prior":
        cfg["optim"].update(lr=1.1e-4, weight_decay=6e-2)
        cfg["prior"] = {"clip": clip_run, "caption_dropout": 0.1, "model": models["prior"].to_dict()}
    elif stage == "decoder":
        cfg["optim"]["lr"] = 1.2e-4
        cfg["decoder"] = {
            "clip": clip_run,
            "image_embed_dropout": 0.1,
            "caption_dropout": 0.5,
            "model": models["decoder"].to_dict(),
        }
    elif stage == "upsampler":
        cfg["optim"]["lr"] = 1.2e-4
        cfg["upsampler"] = {"model": models[f"upsampler_{upsampler}"].to_dict()}
    else:
        raise ValueError(f"unknown stage {stage!r}")
    return cfg


def to_toml(data: dict[str, Any], stage: str) -> str:
    header = (
        f"# unclip training config: the {stage} stage. Run: unclip train {stage} --config THIS_FILE\n"
        "# Every key is documented in docs/TRAINING.md; unknown keys are errors.\n\n"
    )
    return header + docs.to_toml(data, CONFIG_CLASSES[stage])
