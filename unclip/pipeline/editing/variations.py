"""Variations: CLIP image embedding -> decoder -> upsamplers (no prior, empty caption).

Diversity comes from the decoder noise; `drift` (0..1) also slerps each result's embedding toward
its own random direction (0: the paper's variations; ~0.1-0.3: freer; 1: unrelated images).

`keep` (0..<1) starts the decoder from the source itself, downsampled to 64 px and noised (1 - keep)
of the way, instead of from pure noise (0, the paper's variations). The paper's way keeps only what
the CLIP embedding holds; a decoder that has never seen photographs then returns its own style of the
embedding's colours. Starting part way keeps the source's layout and colours and lets the decoder
redraw the rest (SDEdit-style); the model stores its default (`sampling.vary_keep`)."""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING, Any

from PIL import Image

from unclip.errors import InputError
from unclip.pipeline.editing.inputs import Fit, ImageSource, apply_fit, load_image, plan_fit
from unclip.pipeline.editing.latents import decode, image_at
from unclip.pipeline.editing.latents import drift as drift_embeds
from unclip.pipeline.editing.safety import screen_inputs, screen_outputs
from unclip.utils.images import pil_to_tensor, tensor_to_pil

if TYPE_CHECKING:
    from unclip.pipeline.unclip_pipeline import UnCLIP


def check_fraction(name: str, value: float, below_one: bool = False) -> float:
    """0..1 (`below_one`: 0..<1, as for `keep`: a walk of zero steps draws nothing)."""
    if not isinstance(value, (int, float)) or not (0 <= value < 1 if below_one else 0 <= value <= 1):
        bound = "at least 0 and below 1" if below_one else "between 0 and 1"
        raise InputError(f"{name}: must be a number {bound}, got {value!r}")
    return float(value)


def load_square(image: ImageSource, size: int, fit: Fit, what: str = "image") -> Image.Image:
    """Load an input and fit it to a `size` square (centre crop or pad) for CLIP."""
    image = load_image(image, what)
    return apply_fit(image, plan_fit(image.size, size, fit))


def vary(
    pipe: UnCLIP,
    image: ImageSource,
    n: int = 1,
    size: int = 256,
    seed: int | None = None,
    drift: float = 0.0,
    progress: bool = False,
    fit: Fit = "crop",
    keep: float | None = None,
    **stage_settings: Any,
) -> list[Image.Image]:
    """See `UnCLIP.vary`. `keep` None: the model's `sampling.vary_keep`."""
    from unclip.pipeline.unclip_pipeline import parse_stage_settings

    pipe.check_request([""], n, size)
    amount = check_fraction("drift", drift)
    sampling = parse_stage_settings(pipe.cascade.sampling, stage_settings)
    keep = check_fraction("keep", sampling.vary_keep if keep is None else keep, below_one=True)
    square = load_square(image, size, fit)
    screen_inputs(pipe.policy, [], [square])
    generator = pipe.generator(seed)
    embeds = pipe.cascade.clip.embed_pil([square]).float().expand(n, -1)
    embeds = drift_embeds(embeds, amount, generator)
    settings = replace(sampling.decoder, start=1.0 - keep)
    source = None
    if keep > 0:  # the source at the decoder's size, one per result
        source = image_at(pil_to_tensor(square)[None].to(pipe.device), pipe.cascade.decoder.config.image_size)
        source = source.expand(n, -1, -1, -1)
    images = decode(
        pipe, embeds, size, sampling, generator, decoder_settings=settings, progress=progress, start_from=source
    )
    return screen_outputs(pipe.policy, tensor_to_pil(images))


def reconstruct(
    pipe: UnCLIP,
    images: list[ImageSource],
    size: int = 64,
    seed: int | None = None,
    fit: Fit = "crop",
    progress: bool = False,
    **stage_settings: Any,
) -> list[Image.Image]:
    """See `UnCLIP.reconstruct`: each image decoded from its own CLIP image embedding, from pure noise
    and the empty caption (the paper's variations with keep 0), one result per image, in one batch."""
    from unclip.pipeline.unclip_pipeline import parse_stage_settings

    if not isinstance(images, (list, tuple)) or not images:
        raise InputError("images: a non-empty list of images is required")
    pipe.check_request([""], len(images), size)
    sampling = parse_stage_settings(pipe.cascade.sampling, stage_settings)
    squares = [load_square(im, size, fit) for im in images]
    screen_inputs(pipe.policy, [], squares)
    generator = pipe.generator(seed)
    embeds = pipe.cascade.clip.embed_pil(squares).float()
    out = decode(pipe, embeds, size, sampling, generator, progress=progress)
    return screen_outputs(pipe.policy, tensor_to_pil(out))
