"""Variations: CLIP image embedding -> decoder -> upsamplers (no prior, empty caption).

Diversity comes from the decoder noise; `drift` (0..1) also slerps each result's embedding toward
its own random direction (0: the paper's variations; ~0.1-0.3: freer; 1: unrelated images).

`keep` (0..<1) starts the decoder from the source itself, downsampled to 64 px and noised (1 - keep)
of the way, instead of from pure noise (0, the paper's variations). The paper's way keeps only what
the CLIP embedding holds; a decoder that has never seen photographs then returns its own style of the
embedding's colours. Starting part way keeps the source's layout and colours and lets the decoder
redraw the rest (SDEdit-style); the model stores its default (`sampling.vary_keep`)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from PIL import Image

from unclip.cascade.runner import CascadeRunner
from unclip.cascade.settings import parse_stage_settings
from unclip.errors import InputError
from unclip.pipeline.editing.inputs import Fit, ImageSource, check_fraction, load_square
from unclip.pipeline.editing.latents import decode, image_at
from unclip.pipeline.editing.latents import drift as drift_embeds
from unclip.pipeline.editing.safety import screen_inputs, screen_outputs
from unclip.safety import Policy
from unclip.utils.images import pil_to_tensor, tensor_to_pil


def vary(
    runner: CascadeRunner,
    policy: Policy | None,
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
    runner.check_request([""], n, size)
    amount = check_fraction("drift", drift)
    sampling = parse_stage_settings(runner.cascade.sampling, stage_settings)
    keep = check_fraction("keep", sampling.vary_keep if keep is None else keep, below_one=True)
    square = load_square(image, size, fit)
    screen_inputs(policy, [], [square])
    generator = runner.generator(seed)
    embeds = runner.embed_images([square]).expand(n, -1)
    embeds = drift_embeds(embeds, amount, generator)
    settings = replace(sampling.decoder, start=1.0 - keep)
    source = None
    if keep > 0:  # the source at the decoder's size, one per result
        source = image_at(
            pil_to_tensor(square)[None].to(runner.device), runner.cascade.decoder.config.image_size
        )
        source = source.expand(n, -1, -1, -1)
    images = decode(
        runner,
        embeds,
        size,
        sampling,
        generator,
        decoder_settings=settings,
        progress=progress,
        start_from=source,
    )
    return screen_outputs(policy, tensor_to_pil(images))


def reconstruct(
    runner: CascadeRunner,
    policy: Policy | None,
    images: Sequence[ImageSource],
    size: int = 64,
    seed: int | None = None,
    fit: Fit = "crop",
    progress: bool = False,
    **stage_settings: Any,
) -> list[Image.Image]:
    """See `UnCLIP.reconstruct`: each image decoded from its own CLIP image embedding, from pure noise
    and the empty caption (the paper's variations with keep 0), one result per image, in one batch."""
    if not isinstance(images, (list, tuple)) or not images:
        raise InputError("images: a non-empty list of images is required")
    runner.check_request([""], len(images), size)
    sampling = parse_stage_settings(runner.cascade.sampling, stage_settings)
    squares = [load_square(im, size, fit) for im in images]
    screen_inputs(policy, [], squares)
    generator = runner.generator(seed)
    embeds = runner.embed_images(squares)
    out = decode(runner, embeds, size, sampling, generator, progress=progress)
    return screen_outputs(policy, tensor_to_pil(out))
