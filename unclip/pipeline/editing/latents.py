"""Moving in CLIP image-embedding space and decoding with fixed noise: slerp, random drift,
DDIM inversion of the decoder (to fix the decoder noise of interpolations and text diffs)."""

from __future__ import annotations

from typing import Any, cast

import torch
from PIL import Image

from unclip.cascade import stages
from unclip.cascade.runner import CascadeRunner
from unclip.cascade.settings import SamplingConfig, StageSampling
from unclip.diffusion import ddim_invert
from unclip.diffusion.parameterization import Prediction
from unclip.models.clip import TextEncoding
from unclip.utils.images import pil_to_tensor


def slerp(a: torch.Tensor, b: torch.Tensor, t: float | torch.Tensor) -> torch.Tensor:
    """Spherical interpolation of directions, with the norm interpolated linearly. a, b: [..., D]."""
    t = torch.as_tensor(t, dtype=a.dtype, device=a.device)
    na, nb = a.norm(dim=-1, keepdim=True), b.norm(dim=-1, keepdim=True)
    ua, ub = a / na.clamp_min(1e-12), b / nb.clamp_min(1e-12)
    omega = torch.arccos((ua * ub).sum(-1, keepdim=True).clamp(-1 + 1e-7, 1 - 1e-7))
    so = torch.sin(omega)
    direction = (torch.sin((1 - t) * omega) * ua + torch.sin(t * omega) * ub) / so
    return direction * ((1 - t) * na + t * nb)


def drift(embeds: torch.Tensor, amount: float, generator: torch.Generator | None) -> torch.Tensor:
    """Each row slerped by `amount` (0..1) toward its own random direction, keeping its norm."""
    if amount == 0:
        return embeds
    noise = torch.randn(embeds.shape, generator=generator, device=generator.device if generator else None)
    noise = noise.to(embeds)
    return slerp(embeds, noise / noise.norm(dim=-1, keepdim=True) * embeds.norm(dim=-1, keepdim=True), amount)


def text_direction(runner: CascadeRunner, from_caption: str, to_caption: str) -> torch.Tensor:
    """normalize(text_emb(to) - text_emb(from)): the paper's text diff vector [1, D]."""
    emb = runner.encode_prompts([from_caption, to_caption]).embeds.float()
    diff = emb[1:] - emb[:1]
    return diff / diff.norm(dim=-1, keepdim=True).clamp_min(1e-12)


# DDIM inversion is exact only for the plain conditional model: classifier-free guidance bends the
# path, and the error grows with the scale (measured in docs/EDITING.md, "interpolate").
INVERSION_GUIDANCE = 1.0


def ddim_settings(sampling: SamplingConfig, stage_settings: dict[str, Any] | None = None) -> StageSampling:
    """The decoder settings with DDIM (eta 0): the sampler whose noise DDIM inversion recovers. The
    guidance is `INVERSION_GUIDANCE` unless the caller set `decoder_guidance` explicitly."""
    guidance = (stage_settings or {}).get("decoder_guidance")
    return StageSampling(
        "ddim", sampling.decoder.steps, INVERSION_GUIDANCE if guidance is None else guidance, 0.0
    )


@torch.inference_mode()
def invert_decoder(
    runner: CascadeRunner, image64: torch.Tensor, embeds: torch.Tensor, settings: StageSampling
) -> torch.Tensor:
    """The decoder noise x_T that DDIM (same steps and guidance, empty caption) decodes back to
    approximately `image64` ([B, 3, 64, 64] in [-1, 1]) given the image embeddings."""
    decoder = runner.cascade.decoder
    empty = runner.empty_text()
    text = empty.expand_to(embeds.shape[0])
    model_fn = stages.decoder_model_fn(decoder, embeds, text, empty, settings.guidance)
    sampler = stages.stage_sampler(decoder.config.diffusion, settings)
    cfg = decoder.config.diffusion
    return ddim_invert(
        model_fn,
        image64.float(),
        sampler.schedule,
        settings.steps,
        cast(Prediction, cfg.prediction),  # DiffusionConfig checked it
        learned_variance=cfg.learned_variance,
    )


@torch.inference_mode()
def decode(
    runner: CascadeRunner,
    embeds: torch.Tensor,
    size: int,
    sampling: SamplingConfig,
    generator: torch.Generator,
    x_T: torch.Tensor | None = None,
    decoder_settings: StageSampling | None = None,
    text: TextEncoding | None = None,
    progress: bool = False,
    start_from: torch.Tensor | None = None,
) -> torch.Tensor:
    """Image embeddings [B, D] -> images [B, 3, size, size] in [-1, 1] (decoder + upsamplers, no prior).
    The caption defaults to the empty one; `start_from`: see `stages.run_decoder`."""
    empty = runner.empty_text()
    text = text if text is not None else empty.expand_to(embeds.shape[0])
    settings = decoder_settings or sampling.decoder
    x = stages.run_decoder(
        runner.cascade.decoder,
        embeds,
        text,
        empty,
        settings,
        generator,
        x_T=x_T,
        progress=progress,
        start_from=start_from,
    ).clamp(-1, 1)
    return runner.upsample_to(x, size, sampling, generator, progress=progress).clamp(-1, 1)


def fixed_seed(seed: int | None) -> int:
    """A concrete seed: `seed`, or a random one drawn once (so every frame can reuse it)."""
    return seed if seed is not None else int(torch.randint(0, 2**62, ()).item())


def decode_frames(
    runner: CascadeRunner,
    embeds: list[torch.Tensor],
    noises: list[torch.Tensor],
    size: int,
    sampling: SamplingConfig,
    settings: StageSampling,
    seed: int,
    progress: bool = False,
) -> torch.Tensor:
    """Decode frame k from embeds[k] ([1, D]) and decoder noise noises[k] with DDIM `settings`; every
    frame reuses `seed` for the upsamplers, so frames differ only where their embeddings do."""
    out = [
        decode(
            runner,
            e,
            size,
            sampling,
            runner.generator(seed),
            x_T=x,
            decoder_settings=settings,
            progress=progress,
        )
        for e, x in zip(embeds, noises, strict=True)
    ]
    return torch.cat(out)


def image_at(image: torch.Tensor, size: int) -> torch.Tensor:
    """[B, 3, S, S] -> [B, 3, size, size] (area downsampling)."""
    return torch.nn.functional.interpolate(image, size=(size, size), mode="area")


def inverted_noise(
    runner: CascadeRunner, square: Image.Image, embeds: torch.Tensor, settings: StageSampling
) -> torch.Tensor:
    """DDIM-inverted decoder noise of the image's decoder-size version."""
    pixels = pil_to_tensor(square)[None].to(runner.device)
    return invert_decoder(
        runner, image_at(pixels, runner.cascade.decoder.config.image_size), embeds, settings
    )
