"""Text diffs (paper, section 3.3): move an image's CLIP embedding toward
z_d = normalize(text_emb(to) - text_emb(from)) by slerp, z_theta = slerp(z_i, z_d, theta), decoding
every frame from the DDIM-inverted decoder noise of the image so that only the edit changes."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import torch
from PIL import Image

from unclip.errors import InputError
from unclip.pipeline.editing.inputs import Fit, ImageSource
from unclip.pipeline.editing.interpolate import check_frames, inverted_noise
from unclip.pipeline.editing.latents import ddim_settings, decode_frames, fixed_seed, slerp, text_direction
from unclip.pipeline.editing.safety import screen_inputs, screen_outputs
from unclip.pipeline.editing.variations import check_fraction, load_square
from unclip.utils.images import tensor_to_pil

if TYPE_CHECKING:
    from unclip.pipeline.unclip_pipeline import UnCLIP


def text_diff(
    pipe: UnCLIP,
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
    from unclip.pipeline.unclip_pipeline import parse_stage_settings

    pipe.check_request([from_caption, to_caption], 1, size)
    check_frames(frames)
    if from_caption.strip() == to_caption.strip():
        raise InputError(
            "captions: the 'from' and 'to' captions are the same; there is no direction to move in"
        )
    strength = check_fraction("strength", strength)
    sampling = parse_stage_settings(pipe.cascade.sampling, stage_settings)
    settings = ddim_settings(sampling, stage_settings)
    square = load_square(image, size, fit)
    screen_inputs(pipe.policy, [from_caption, to_caption], [square])
    seed = fixed_seed(seed)
    with torch.inference_mode():
        z_i = pipe.cascade.clip.embed_pil([square]).float()
        z_d = text_direction(pipe, from_caption, to_caption) * z_i.norm(dim=-1, keepdim=True)
        x_T = inverted_noise(pipe, square, z_i, settings)
        thetas = torch.linspace(0, strength, frames).tolist()
        embeds = [slerp(z_i, z_d, theta) for theta in thetas]
        images = decode_frames(pipe, embeds, [x_T] * frames, size, sampling, settings, seed, progress)
    return screen_outputs(pipe.policy, tensor_to_pil(images))
