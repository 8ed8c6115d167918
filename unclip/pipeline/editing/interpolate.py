"""Interpolations between two images: slerp of their CLIP image embeddings, decoded with the decoder
noise fixed by DDIM inversion (paper, section 3.2)."""

from __future__ import annotations

from typing import Any, Literal

import torch
from PIL import Image

from unclip.cascade.runner import CascadeRunner
from unclip.cascade.settings import parse_stage_settings
from unclip.diffusion import randn
from unclip.errors import InputError
from unclip.pipeline.editing.inputs import Fit, ImageSource, check_frames, load_square
from unclip.pipeline.editing.latents import (
    ddim_settings,
    decode_frames,
    fixed_seed,
    inverted_noise,
    slerp,
)
from unclip.pipeline.editing.safety import screen_inputs, screen_outputs
from unclip.safety import Policy
from unclip.utils.images import tensor_to_pil

Noise = Literal["invert", "invert-both", "random"]
NOISES = ("invert", "invert-both", "random")


def interpolate(
    runner: CascadeRunner,
    policy: Policy | None,
    a: ImageSource,
    b: ImageSource,
    frames: int = 8,
    size: int = 256,
    seed: int | None = None,
    noise: Noise = "invert",
    progress: bool = False,
    fit: Fit = "crop",
    **stage_settings: Any,
) -> list[Image.Image]:
    """See `UnCLIP.interpolate`."""
    runner.check_request([""], 1, size)
    check_frames(frames)
    if noise not in NOISES:
        raise InputError(f"noise: must be one of {list(NOISES)}, got {noise!r}")
    sampling = parse_stage_settings(runner.cascade.sampling, stage_settings)
    settings = ddim_settings(sampling, stage_settings)
    sa, sb = load_square(a, size, fit, "image A"), load_square(b, size, fit, "image B")
    screen_inputs(policy, [], [sa, sb])
    seed = fixed_seed(seed)
    with torch.inference_mode():
        ea, eb = runner.embed_images([sa, sb]).chunk(2)
        if noise == "random":
            s = runner.cascade.decoder.config.image_size
            xa = randn((1, 3, s, s), runner.generator(seed), runner.device)
        else:
            xa = inverted_noise(runner, sa, ea, settings)
        xb = inverted_noise(runner, sb, eb, settings) if noise == "invert-both" else xa
        ts = torch.linspace(0, 1, frames).tolist()
        embeds = [slerp(ea, eb, t) for t in ts]
        noises = [xa if xb is xa else slerp(xa.flatten(1), xb.flatten(1), t).view_as(xa) for t in ts]
        images = decode_frames(runner, embeds, noises, size, sampling, settings, seed, progress)
    return screen_outputs(policy, tensor_to_pil(images))
