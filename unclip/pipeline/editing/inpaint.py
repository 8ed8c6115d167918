"""Inpainting through the whole cascade, with a trained inpainting model or zero-shot (RePaint).

Every stage keeps the known pixels: the 64 px decoder and each upsampler get the known image and
keep mask at their own size. *trained*: the `*_inpaint` networks see them as 4 extra input channels
(GLIDE); *zero-shot*: plain networks, with the known region replaced by its forward-noised original
after every step. In the decoder both use RePaint resampling (re-noise one step and denoise again):
zero-shot at every step, trained in the late half of the steps only (`RESAMPLE_FROM`). In
both methods the forward-noised known region is pasted after each step, so every stage ends with the
known pixels at that size. The result is finished in pixel space: the seam is softened inside the
edit region only, and the original pixels are pasted back outside it exactly (uint8).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from unclip.cascade import stages
from unclip.cascade.progress import watcher
from unclip.cascade.runner import CascadeRunner
from unclip.cascade.settings import SamplingConfig, parse_stage_settings
from unclip.diffusion import q_sample_between, randn, sample_loop
from unclip.errors import InputError
from unclip.models.clip import TextEncoding
from unclip.models.decoder import Decoder
from unclip.models.inpainting import inpaint_input
from unclip.models.upsampler import upsample_low_res
from unclip.pipeline.editing.blend import composite_exact, soften_seam, to_pil, to_uint8
from unclip.pipeline.editing.inputs import Fit, ImageSource, apply_fit, load_image, plan_fit, rgb_array
from unclip.pipeline.editing.latents import slerp
from unclip.pipeline.editing.masks import MaskMode, edit_region, erode, fit_region, grow_keep
from unclip.pipeline.editing.quality import flat_fill
from unclip.pipeline.editing.safety import screen_inputs, screen_outputs
from unclip.safety import Policy

Method = Literal["auto", "trained", "zero-shot"]
METHODS = ("auto", "trained", "zero-shot")
ModelFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
DEFAULT_RESAMPLE = {"trained": 2, "zero-shot": 3}
# From which fraction of the decoder's steps RePaint resampling runs. The early, noisy steps decide what
# the fill shows; the late ones its detail and how it meets the border. The trained decoder sees the
# known pixels, so it needs no help early on, and resampling there only weakens the prompt (measured in
# docs/EDITING.md, "Inpainting through the cascade"). Zero-shot needs the passes from the start: its
# network sees the known region only via x_t.
RESAMPLE_FROM = {"trained": 0.5, "zero-shot": 0.0}


def resolve_method(
    runner: CascadeRunner, method: str, preferred: str = "auto"
) -> Literal["trained", "zero-shot"]:
    """ "auto" -> `preferred` when it names a method (outpainting passes the model's
    `sampling.outpaint_method`), else the model's `sampling.edit_method` when it names one, else
    "trained" when the model has an inpainting decoder, else "zero-shot"."""
    if method not in METHODS:
        raise InputError(f"method: must be one of {list(METHODS)}, got {method!r}")
    has_trained = "decoder_inpaint" in runner.cascade.modules
    if method == "trained" and not has_trained:
        raise InputError(
            "method: 'trained' needs an inpainting decoder (decoder_inpaint), which this model does not have; "
            "use 'zero-shot'"
        )
    if method == "auto":
        # The model may say which method edits better with it (measured when it was made).
        if preferred == "auto":
            preferred = runner.cascade.sampling.edit_method
        if preferred == "zero-shot" or not has_trained:
            return "zero-shot"
        return "trained"
    return method  # type: ignore[return-value]


@dataclass
class Known:
    """The known pixels [B, 3, S, S] in [-1, 1] (values inside the edit region are ignored) and the keep
    mask [1, 1, S, S] (True = known)."""

    pixels: torch.Tensor
    keep: torch.Tensor

    def at(self, size: int) -> Known:
        """The same at another size. Smaller: a pixel is known when at least half of what it covers is, and
        takes the mean of its known part (the hole's values never leak in); so a thin brush stroke does
        not grow to whole 64 px pixels, and the decoder's fill meets colours that match the full-size
        border (measured in docs/EDITING.md). Larger: upsampled
        bicubically, dropping the 2 px of the kept border that the resize blurs with the hole."""
        s = self.pixels.shape[-1]
        if size == s:
            return self
        if size < s:
            keep = self.keep.to(self.pixels.dtype)
            share = F.interpolate(keep, size=(size, size), mode="area")
            pixels = F.interpolate(self.pixels * keep, size=(size, size), mode="area") / share.clamp_min(1e-6)
            return Known(pixels, share >= 0.5)
        return Known(upsample_low_res(self.pixels, (size, size)), grow_keep(erode(self.keep, 2), size))

    def channels(self, batch: int) -> torch.Tensor:
        """The inpainting networks' 4 extra channels: the image with the hole zeroed, and the keep mask."""
        return inpaint_input(self.pixels, self.keep).expand(batch, -1, -1, -1)

    def paste(
        self, x: torch.Tensor, t: int, generator: torch.Generator | None, schedule: Any
    ) -> torch.Tensor:
        """x with the known region replaced by the original forward-noised to timestep t (-1: clean)."""
        noised = q_sample_between(schedule, self.pixels.expand_as(x), -1, t, generator)
        return torch.where(self.keep, noised, x)


def repaint_hook(
    known: Known,
    sampler: Any,
    generator: torch.Generator | None,
    model_fn: ModelFn | None = None,
    resample: int = 1,
    resample_from: int = 0,
) -> stages.StepHook:
    """`on_step` for `sample_loop`: paste the noised known region after each step; with `resample` > 1,
    from step index `resample_from` on, re-noise back to the step's start and denoise again (RePaint),
    `resample - 1` more times."""

    def on_step(x: torch.Tensor, i: int) -> torch.Tensor:
        t_from, t_to = sampler.timesteps[i], sampler.prev_timestep(i)
        x = known.paste(x, t_to, generator, sampler.schedule)
        if t_to < 0 or model_fn is None or i < resample_from:
            return x
        for _ in range(resample - 1):
            x = q_sample_between(sampler.schedule, x, t_to, t_from, generator)
            t = torch.full((x.shape[0],), t_from, dtype=torch.long, device=x.device)
            x = known.paste(sampler.step(model_fn(x, t), i, x, generator), t_to, generator, sampler.schedule)
        return x

    return on_step


@torch.inference_mode()
def inpaint_tensors(
    runner: CascadeRunner,
    known: Known,
    text: TextEncoding,
    image_embeds: torch.Tensor,
    size: int,
    method: Literal["trained", "zero-shot"],
    sampling: SamplingConfig,
    generator: torch.Generator,
    resample: int,
    progress: bool = False,
) -> torch.Tensor:
    """Run the cascade up to `size` keeping `known` ([B or 1] x 3 x size x size); returns [B, 3, size, size]."""
    cascade, b = runner.cascade, image_embeds.shape[0]
    trained = method == "trained"
    decoder: Decoder = cascade.modules["decoder_inpaint" if trained else "decoder"]  # type: ignore[assignment]
    k = known.at(decoder.config.image_size)
    model_fn = stages.decoder_model_fn(
        decoder,
        image_embeds,
        text,
        runner.empty_text(),
        sampling.decoder.guidance,
        k.channels(b) if trained else None,
    )
    sampler = stages.stage_sampler(decoder.config.diffusion, sampling.decoder)
    x_T = randn((b, 3, k.pixels.shape[-1], k.pixels.shape[-1]), generator, runner.device)
    x_T = k.paste(x_T, sampler.timesteps[0], generator, sampler.schedule)
    start = round(RESAMPLE_FROM[method] * len(sampler.timesteps))
    hook = repaint_hook(k, sampler, generator, model_fn, resample, start)
    x = sample_loop(
        model_fn,
        x_T,
        sampler,
        generator,
        on_step=hook,
        progress=stages._progress("decoder", progress),
        watch=watcher("decoder", len(sampler)),
    )
    x = torch.where(k.keep, k.pixels, x).clamp(-1, 1)
    for res in (256, 1024):
        if size <= x.shape[-1]:
            break
        plain = cascade.upsampler(res)
        if plain is None:
            raise InputError(f"size: {size} needs the upsampler to {res} px, which this model does not have")
        up = cascade.upsampler(res, inpaint=True) if trained else None
        up = up if up is not None else plain  # no inpainting upsampler: the plain one, pasting only
        k = known.at(res)
        settings = getattr(sampling, f"upsampler_{res}")
        hook = repaint_hook(k, stages.stage_sampler(up.config.diffusion, settings), generator)
        extra = k.channels(b) if up.config.inpainting else None
        x = stages.run_upsampler(
            up,
            x,
            res,
            settings,
            generator,
            inpaint=extra,
            on_step=hook,
            progress=progress,
            desc=f"{x.shape[-1]}->{res}",
        )
        x = torch.where(k.keep, k.pixels, x).clamp(-1, 1)
    if x.shape[-1] != size:
        x = F.interpolate(x, size=(size, size), mode="area")
    return x


def finish(
    generated: torch.Tensor, known: Known, original: np.ndarray, region: np.ndarray, blend: int
) -> np.ndarray:
    """Soften the seam inside `region`, then paste `original` (uint8 [H, W, 3] or [B, H, W, 3], the same
    image as `known.pixels`) outside it exactly."""
    softened = soften_seam(generated, known.pixels.expand_as(generated), known.keep, blend)
    return composite_exact(to_uint8(softened), original, region)


def to_tensor(arr: np.ndarray) -> torch.Tensor:
    """uint8 [H, W, 3] or [B, H, W, 3] -> float [B, 3, H, W] in [-1, 1]."""
    t = torch.from_numpy(np.array(arr, dtype=np.float32)) / 127.5 - 1
    return (t[None] if t.dim() == 3 else t).permute(0, 3, 1, 2).contiguous()


def context_picture(original: np.ndarray, region: np.ndarray) -> Image.Image | None:
    """What CLIP sees of a picture being edited: its kept pixels, with the edit region filled flat in the
    mean colour around it (what is being replaced must not steer the fill); None when nothing is kept."""
    if region.all():
        return None
    return Image.fromarray(flat_fill(original, region) if region.any() else original)


def conditioning(
    runner: CascadeRunner,
    prompt: str,
    n: int,
    sampling: SamplingConfig,
    generator: torch.Generator,
    context: Image.Image | None,
    context_weight: float | None = None,
    progress: bool = False,
) -> tuple[TextEncoding, torch.Tensor]:
    """(caption encoding, image embedding) for n results of an edit.

    The image embedding is slerped from n prior samples for the prompt toward the CLIP embedding of
    `context` (the picture's kept pixels) by `context_weight` (None: the model's `edit_context`): 0
    follows the prompt alone, 1 (and any empty prompt) continues the picture. The decoder takes its
    colours and style from this embedding, so a prompt alone, through a prior that knows one kind of
    picture, paints that kind of picture into any photo. Of the prior's `prior_candidates` samples, the
    one nearest the kept picture is used (not the one nearest the caption, as in generation); the
    measurements behind both choices are in docs/EDITING.md ("Quality measurement").
    """
    weight = sampling.edit_context if context_weight is None else context_weight
    if not 0.0 <= weight <= 1.0:
        raise InputError(f"context_weight: must be between 0 and 1, got {weight}")
    text = runner.encode_prompts([prompt]).repeat_interleave(n)
    if not prompt.strip():
        if context is None:
            raise InputError(
                "prompt: an empty prompt continues the kept picture, and this mask keeps none of it; "
                "describe what to paint"
            )
        weight = 1.0
    picture = None
    if context is not None and weight > 0:
        picture = runner.embed_images([context]).expand(n, -1)
        if weight == 1.0:
            return text, picture
    embeds = stages.run_prior(
        runner.cascade.prior,
        text,
        runner.empty_text(),
        sampling.prior,
        generator,
        candidates=sampling.prior_candidates,
        progress=progress,
        target=picture,
    )
    return text, embeds if picture is None else slerp(embeds, picture.to(embeds), weight)


def inpaint_arrays(
    runner: CascadeRunner,
    original: np.ndarray,
    region: np.ndarray,
    text: TextEncoding,
    image_embeds: torch.Tensor,
    method: Literal["trained", "zero-shot"],
    sampling: SamplingConfig,
    generator: torch.Generator,
    resample: int | None = None,
    blend: int | None = None,
    progress: bool = False,
) -> np.ndarray:
    """Inpaint uint8 `original` ([S, S, 3] or [n, S, S, 3]) inside `region` ([S, S] bool) for
    `image_embeds.shape[0]` results; returns uint8 [n, S, S, 3] equal to `original` outside `region`."""
    size = original.shape[-2]
    known = Known(
        to_tensor(original).to(runner.device), torch.from_numpy(~region)[None, None].to(runner.device)
    )
    resample = DEFAULT_RESAMPLE[method] if resample is None else resample
    if resample < 1:
        raise InputError(f"resample: must be at least 1, got {resample}")
    blend = size // 32 if blend is None else blend
    if blend < 0:
        raise InputError(f"blend: must be >= 0 px, got {blend}")
    x = inpaint_tensors(
        runner, known, text, image_embeds, size, method, sampling, generator, resample, progress
    )
    return finish(x, known, original, region, blend)


def edit_sampling(runner: CascadeRunner, stage_settings: dict[str, Any]) -> SamplingConfig:
    """The model's sampling settings for an edit: its `edit_guidance` (when it stores one) replaces the
    decoder's guidance unless the call sets `decoder_guidance` itself; then the call's overrides."""
    base = runner.cascade.sampling
    if base.edit_guidance is not None and stage_settings.get("decoder_guidance") is None:
        stage_settings = {**stage_settings, "decoder_guidance": base.edit_guidance}
    return parse_stage_settings(base, stage_settings)


def edit(
    runner: CascadeRunner,
    policy: Policy | None,
    image: ImageSource,
    mask: ImageSource | None,
    prompt: str,
    n: int = 1,
    size: int = 256,
    seed: int | None = None,
    method: Method = "auto",
    progress: bool = False,
    mask_mode: MaskMode = "alpha",
    fit: Fit = "crop",
    resample: int | None = None,
    blend: int | None = None,
    context_weight: float | None = None,
    **stage_settings: Any,
) -> list[Image.Image]:
    """See `UnCLIP.edit`."""
    runner.check_request([prompt], n, size)
    resolved = resolve_method(runner, method)
    sampling = edit_sampling(runner, stage_settings)
    image = load_image(image, "image")
    mask_image = load_image(mask, "mask") if mask is not None else None
    region = edit_region(image, mask_image, mask_mode)
    screen_inputs(policy, [prompt], [image])
    plan = plan_fit(image.size, size, fit)
    region = fit_region(region, plan)
    fitted = apply_fit(image, plan)
    original = rgb_array(fitted)
    generator = runner.generator(seed)
    context = context_picture(original, region)
    text, embeds = conditioning(runner, prompt, n, sampling, generator, context, context_weight, progress)
    out = inpaint_arrays(
        runner, original, region, text, embeds, resolved, sampling, generator, resample, blend, progress
    )
    return screen_outputs(policy, to_pil(out))
