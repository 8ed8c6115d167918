"""Text diffs (paper, section 3.3): move an image's CLIP embedding toward
z_d = normalize(text_emb(to) - text_emb(from)) by slerp, z_theta = slerp(z_i, z_d, theta), decoding
every frame from the DDIM-inverted decoder noise of the image so that only the edit changes."""

from __future__ import annotations

from typing import Any

import torch
from PIL import Image

from unclip.cascade.runner import CascadeRunner
from unclip.cascade.settings import parse_stage_settings
from unclip.errors import InputError
from unclip.pipeline.editing.inputs import Fit, ImageSource, check_fraction, check_frames, load_square
from unclip.pipeline.editing.latents import (
    ddim_settings,
    decode_frames,
    fixed_seed,
    inverted_noise,
    slerp,
    text_direction,
)
from unclip.pipeline.editing.safety import screen_inputs, screen_outputs
from unclip.safety import Policy
from unclip.utils.images import tensor_to_pil


def text_diff(
    runner: CascadeRunner,
    policy: Policy | None,
    image: ImageSource,
    from_caption: str,
    to_caption: str,
    frames: int = 5,
    strength: float = 0.5,
    size: int = 256,
    seed: int | None = None,
    progress: bool = False,
    fit: Fit = "crop",
    **stage_settings: Any,
) -> list[Image.Image]:
    """See `UnCLIP.text_diff`."""
    runner.check_request([from_caption, to_caption], 1, size)
    check_frames(frames)
    if from_caption.strip() == to_caption.strip():
        raise InputError(
            "captions: the 'from' and 'to' captions are the same; there is no direction to move in"
        )
    strength = check_fraction("strength", strength)
    sampling = parse_stage_settings(runner.cascade.sampling, stage_settings)
    settings = ddim_settings(sampling, stage_settings)
    square = load_square(image, size, fit)
    screen_inputs(policy, [from_caption, to_caption], [square])
    seed = fixed_seed(seed)
    with torch.inference_mode():
        z_i = runner.embed_images([square])
        z_d = text_direction(runner, from_caption, to_caption) * z_i.norm(dim=-1, keepdim=True)
        x_T = inverted_noise(runner, square, z_i, settings)
        thetas = torch.linspace(0, strength, frames).tolist()
        embeds = [slerp(z_i, z_d, theta) for theta in thetas]
        images = decode_frames(runner, embeds, [x_T] * frames, size, sampling, settings, seed, progress)
    return screen_outputs(policy, tensor_to_pil(images))
