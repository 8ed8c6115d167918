"""Interpolations between two images: slerp of their CLIP image embeddings, decoded with the decoder
noise fixed by DDIM inversion (paper, section 3.2)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal

import torch
from PIL import Image

from unclip.diffusion import randn
from unclip.errors import InputError
from unclip.pipeline.editing.inputs import Fit, ImageSource
from unclip.pipeline.editing.latents import (
    ddim_settings,
    decode_frames,
    fixed_seed,
    image_at,
    invert_decoder,
    slerp,
)
from unclip.pipeline.editing.safety import screen_inputs, screen_outputs
from unclip.pipeline.editing.variations import load_square
from unclip.utils.images import pil_to_tensor, tensor_to_pil

if TYPE_CHECKING:
    from unclip.pipeline.unclip_pipeline import UnCLIP

Noise = Literal["invert", "invert-both", "random"]
NOISES = ("invert", "invert-both", "random")
MAX_FRAMES = 64


def check_frames(frames: int, least: int = 2) -> int:
    if not isinstance(frames, int) or not least <= frames <= MAX_FRAMES:
        raise InputError(f"frames: must be an integer from {least} to {MAX_FRAMES}, got {frames!r}")
    return frames


def inverted_noise(pipe: UnCLIP, square: Image.Image, embeds: torch.Tensor, settings: Any) -> torch.Tensor:
    """DDIM-inverted decoder noise of the image's decoder-size version."""
    pixels = pil_to_tensor(square)[None].to(pipe.device)
    return invert_decoder(pipe, image_at(pixels, pipe.cascade.decoder.config.image_size), embeds, settings)


def interpolate(
    pipe: UnCLIP,
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
    from unclip.pipeline.unclip_pipeline import parse_stage_settings

    pipe.check_request([""], 1, size)
    check_frames(frames)
    if noise not in NOISES:
        raise InputError(f"noise: must be one of {list(NOISES)}, got {noise!r}")
    sampling = parse_stage_settings(pipe.cascade.sampling, stage_settings)
    settings = ddim_settings(sampling, stage_settings)
    sa, sb = load_square(a, size, fit, "image A"), load_square(b, size, fit, "image B")
    screen_inputs(pipe.policy, [], [sa, sb])
    seed = fixed_seed(seed)
    with torch.inference_mode():
        ea, eb = pipe.cascade.clip.embed_pil([sa, sb]).float().chunk(2)
        if noise == "random":
            s = pipe.cascade.decoder.config.image_size
            xa = randn((1, 3, s, s), pipe.generator(seed), pipe.device)
        else:
            xa = inverted_noise(pipe, sa, ea, settings)
        xb = inverted_noise(pipe, sb, eb, settings) if noise == "invert-both" else xa
        ts = torch.linspace(0, 1, frames).tolist()
        embeds = [slerp(ea, eb, t) for t in ts]
        noises = [xa if xb is xa else slerp(xa.flatten(1), xb.flatten(1), t).view_as(xa) for t in ts]
        images = decode_frames(pipe, embeds, noises, size, sampling, settings, seed, progress)
    return screen_outputs(pipe.policy, tensor_to_pil(images))
