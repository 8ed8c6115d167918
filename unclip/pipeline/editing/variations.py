"""Variations: CLIP image embedding -> decoder -> upsamplers (no prior, empty caption).

Diversity comes from the decoder noise; `drift` (0..1) also slerps each result's embedding toward
its own random direction (0: the paper's variations; ~0.1-0.3: freer; 1: unrelated images)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from PIL import Image

from unclip.errors import InputError
from unclip.pipeline.editing.inputs import Fit, ImageSource, apply_fit, load_image, plan_fit
from unclip.pipeline.editing.latents import decode
from unclip.pipeline.editing.latents import drift as drift_embeds
from unclip.pipeline.editing.safety import screen_inputs, screen_outputs
from unclip.utils.images import tensor_to_pil

if TYPE_CHECKING:
    from unclip.pipeline.unclip_pipeline import UnCLIP


def check_fraction(name: str, value: float) -> float:
    if not isinstance(value, (int, float)) or not 0 <= value <= 1:
        raise InputError(f"{name}: must be a number between 0 and 1, got {value!r}")
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
    **stage_settings: Any,
) -> list[Image.Image]:
    """See `UnCLIP.vary`."""
    from unclip.pipeline.unclip_pipeline import parse_stage_settings

    pipe.check_request([""], n, size)
    amount = check_fraction("drift", drift)
    sampling = parse_stage_settings(pipe.cascade.sampling, stage_settings)
    square = load_square(image, size, fit)
    screen_inputs(pipe.policy, [], [square])
    generator = pipe.generator(seed)
    embeds = pipe.cascade.clip.embed_pil([square]).float().expand(n, -1)
    embeds = drift_embeds(embeds, amount, generator)
    images = decode(pipe, embeds, size, sampling, generator, progress=progress)
    return screen_outputs(pipe.policy, tensor_to_pil(images))
