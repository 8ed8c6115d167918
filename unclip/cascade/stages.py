"""One function per cascade stage: prompt encoding, prior, decoder, upsampler.

Each takes the networks and settings it needs and returns tensors; `UnCLIP` (generation) and the
editing functions compose them. Classifier-free guidance runs the unconditional and conditional
halves as one batch; with guidance 1 only the conditional half runs.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache
from typing import cast

import torch

from unclip.cascade.progress import watcher
from unclip.cascade.settings import StageSampling
from unclip.diffusion import NoiseSchedule, make_betas, make_sampler, randn, sample_loop
from unclip.diffusion.parameterization import Prediction
from unclip.diffusion.sampler_base import Sampler
from unclip.diffusion.samplers import SamplerName
from unclip.diffusion.schedule import ScheduleKind
from unclip.models.clip import ClipModel, TextEncoding
from unclip.models.decoder import Decoder
from unclip.models.diffusion_config import DiffusionConfig
from unclip.models.prior import Prior
from unclip.models.tokenizer import ClipTokenizer, tokenize
from unclip.models.upsampler import Upsampler, upsample_low_res

StepHook = Callable[[torch.Tensor, int], torch.Tensor]


@lru_cache(maxsize=16)
def _schedule(kind: str, num_timesteps: int) -> NoiseSchedule:
    return NoiseSchedule(make_betas(cast(ScheduleKind, kind), num_timesteps))  # DiffusionConfig checked it


def start_timestep(diffusion: DiffusionConfig, settings: StageSampling) -> int | None:
    """The first timestep for `settings.start` < 1 (None: from pure noise at T-1)."""
    if settings.start >= 1.0:
        return None
    return max(settings.steps - 1, round(settings.start * (diffusion.num_timesteps - 1)))


def stage_sampler(diffusion: DiffusionConfig, settings: StageSampling) -> Sampler:
    # the configs are plain strings in files, checked when loaded: cast to the names the samplers take
    return make_sampler(
        cast(SamplerName, settings.sampler),
        _schedule(diffusion.schedule, diffusion.num_timesteps),
        settings.steps,
        prediction=cast(Prediction, diffusion.prediction),
        learned_variance=diffusion.learned_variance,
        clip_range=diffusion.clip_range,
        eta=settings.eta,
        start_timestep=start_timestep(diffusion, settings),
    )


def _progress(desc: str, enabled: bool):  # type: ignore[no-untyped-def]
    if not enabled:
        return None
    from tqdm.auto import tqdm

    return lambda it: tqdm(it, desc=desc, leave=False, dynamic_ncols=True)


def _guided(out: torch.Tensor, guidance: float, channels: int | None = None) -> torch.Tensor:
    """Combine [uncond; cond] outputs: uncond + g * (cond - uncond) on the first `channels` channels,
    keeping the conditional half's remaining (variance) channels."""
    uncond, cond = out.chunk(2)
    if channels is None or channels == out.shape[1]:
        return uncond + guidance * (cond - uncond)
    mean = uncond[:, :channels] + guidance * (cond[:, :channels] - uncond[:, :channels])
    return torch.cat([mean, cond[:, channels:]], dim=1)


@torch.no_grad()
def encode_prompts(clip: ClipModel, tokenizer: ClipTokenizer, prompts: list[str]) -> TextEncoding:
    device = next(clip.parameters()).device
    tokens = tokenize(tokenizer, prompts, clip.config.text_max_tokens)
    return clip.encode_text(tokens.ids.to(device), tokens.mask.to(device))


@torch.no_grad()
def run_prior(
    prior: Prior,
    text: TextEncoding,
    empty: TextEncoding,
    settings: StageSampling,
    generator: torch.Generator | None,
    candidates: int = 1,
    progress: bool = False,
    target: torch.Tensor | None = None,
) -> torch.Tensor:
    """Sample one CLIP image embedding per row of `text` (drawing `candidates` and keeping the one
    with the highest cosine similarity to the text embedding, or to `target` [B, D] when given)."""
    b = text.embeds.shape[0]
    device = text.embeds.device
    rows = text.repeat_interleave(candidates)
    guided = settings.guidance != 1.0
    both = TextEncoding.cat([empty.expand_to(rows.embeds.shape[0]), rows]) if guided else rows
    prefix = prior.encode_prefix(both)

    def model_fn(z: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        zz, tt = (torch.cat([z, z]), torch.cat([t, t])) if guided else (z, t)
        out = prior.denoise(zz, tt, prefix).float()
        return _guided(out, settings.guidance) if guided else out

    sampler = stage_sampler(prior.config.diffusion, settings)
    z = randn((rows.embeds.shape[0], prior.config.clip_dim), generator, device)
    watch = watcher("prior", len(sampler), image=False)
    z = sample_loop(model_fn, z, sampler, generator, progress=_progress("prior", progress), watch=watch)
    embeds = prior.denormalize(z.to(prior.embed_mean.dtype)).float()
    if candidates > 1:
        goal = rows.embeds.float() if target is None else target.float().repeat_interleave(candidates, dim=0)
        sims = torch.nn.functional.cosine_similarity(embeds, goal.to(embeds.device), dim=-1).view(
            b, candidates
        )
        best = sims.argmax(dim=1)
        embeds = embeds.view(b, candidates, -1)[torch.arange(b, device=device), best]
    return embeds


def decoder_model_fn(
    decoder: Decoder,
    image_embeds: torch.Tensor,
    text: TextEncoding,
    empty: TextEncoding,
    guidance: float,
    inpaint: torch.Tensor | None = None,
) -> Callable[[torch.Tensor, torch.Tensor], torch.Tensor]:
    """The decoder as `model_fn(x, t)` for the samplers (and for DDIM inversion and RePaint
    resampling in `unclip.pipeline.editing`), with classifier-free guidance when `guidance` != 1."""
    b = image_embeds.shape[0]
    guided = guidance != 1.0
    if guided:
        cond = decoder.condition(
            torch.cat([decoder.null_image_embeds(b).to(image_embeds), image_embeds]),
            TextEncoding.cat([empty.expand_to(b), text]),
        )
        inpaint_in = torch.cat([inpaint, inpaint]) if inpaint is not None else None
    else:
        cond, inpaint_in = decoder.condition(image_embeds, text), inpaint

    def model_fn(x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        xx, tt = (torch.cat([x, x]), torch.cat([t, t])) if guided else (x, t)
        out = decoder.denoise(xx, tt, cond, inpaint_in).float()
        return _guided(out, guidance, channels=3) if guided else out

    return model_fn


def noised_to_first_step(sampler, image: torch.Tensor, noise: torch.Tensor) -> torch.Tensor:  # type: ignore[no-untyped-def]
    """q(x_t | image) at the sampler's first timestep: where a walk shortened by `start` begins."""
    t0 = torch.full((image.shape[0],), sampler.timesteps[0], dtype=torch.long, device=image.device)
    return sampler.schedule.q_sample(image, t0, noise)


@torch.no_grad()
def run_decoder(
    decoder: Decoder,
    image_embeds: torch.Tensor,
    text: TextEncoding,
    empty: TextEncoding,
    settings: StageSampling,
    generator: torch.Generator | None,
    x_T: torch.Tensor | None = None,
    inpaint: torch.Tensor | None = None,
    on_step: StepHook | None = None,
    progress: bool = False,
    start_from: torch.Tensor | None = None,
) -> torch.Tensor:
    """Sample 64x64 images [B, 3, S, S] in [-1, 1] from image embeddings and captions. With
    `settings.start` < 1, `start_from` ([B, 3, S, S]) is the image the shortened walk begins from
    (variations that keep the source's layout)."""
    if (start_from is not None) != (settings.start < 1.0):
        raise ValueError("run_decoder: start_from is needed exactly when settings.start < 1")
    b = image_embeds.shape[0]
    size = decoder.config.image_size
    model_fn = decoder_model_fn(decoder, image_embeds, text, empty, settings.guidance, inpaint)
    sampler = stage_sampler(decoder.config.diffusion, settings)
    if x_T is None:
        x_T = randn((b, 3, size, size), generator, image_embeds.device)
    # settings.start < 1: begin from this image, noised (by x_T) to the first timestep
    if start_from is not None:
        x_T = noised_to_first_step(sampler, start_from.to(x_T), x_T)
    return sample_loop(
        model_fn,
        x_T,
        sampler,
        generator,
        on_step=on_step,
        progress=_progress("decoder", progress),
        watch=watcher("decoder", len(sampler)),
    )


@torch.no_grad()
def run_upsampler(
    upsampler: Upsampler,
    low_res: torch.Tensor,
    size: int,
    settings: StageSampling,
    generator: torch.Generator | None,
    inpaint: torch.Tensor | None = None,
    on_step: StepHook | None = None,
    progress: bool = False,
    desc: str = "upsampler",
) -> torch.Tensor:
    """Upsample [B, 3, h, w] images in [-1, 1] to `size` x `size`."""
    b = low_res.shape[0]
    device = low_res.device
    cond = upsample_low_res(low_res.float(), (size, size))
    sampler = stage_sampler(upsampler.config.diffusion, settings)
    last_t = sampler.timesteps[-1]

    def model_fn(x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        return upsampler.denoise(x, t, cond, inpaint, last_step=int(t[0]) == last_t).float()

    x_T = randn((b, 3, size, size), generator, device)
    if settings.start < 1.0:  # begin from the resized low-res image, noised to the first timestep
        x_T = noised_to_first_step(sampler, cond, x_T)
    watch = watcher(f"upsampler_{size}", len(sampler))
    return sample_loop(
        model_fn, x_T, sampler, generator, on_step=on_step, progress=_progress(desc, progress), watch=watch
    )
