"""Karlo's 64->256 super-resolution pair (`super_res_first`, `super_res_last`) -> unclip's :class:`Upsampler`.

Karlo runs `super_res_first` for every step but the last and `super_res_last` for the last one; both
are `UNet2DModel`s of one architecture taking [noisy image, bicubic-upsampled low-res image]. They
become `unet` and `unet_last` of an upsampler with `separate_last_step`. Names map as in
:mod:`unclip.convert.unet`.
"""

from __future__ import annotations

from unclip.convert.mapping import ConfigView, StateMapper, assemble
from unclip.convert.source import StateDict
from unclip.convert.unet import map_unet, unet_config
from unclip.errors import ModelFormatError
from unclip.models.diffusion_config import DiffusionConfig
from unclip.models.upsampler import Upsampler, UpsamplerConfig

Part = tuple[dict, str]


def upsampler_config(
    first: ConfigView, last: ConfigView | None, low_res: int, diffusion: DiffusionConfig
) -> UpsamplerConfig:
    high_res = first.need("sample_size")
    unet = unet_config(first, conditional=False)
    if last is not None:
        last_size = last.need("sample_size")
        last_unet = unet_config(last, conditional=False)
        if last_unet != unet or last_size != high_res:
            raise ModelFormatError(
                f"{last.where}: architecture differs from {first.where}; unclip needs them equal"
            )
    try:
        return UpsamplerConfig(
            low_res=low_res,
            high_res=high_res,
            inpainting=False,
            separate_last_step=last is not None,
            unet=unet,
            diffusion=diffusion,
        )
    except ValueError as e:
        raise ModelFormatError(f"{first.where}: {e}") from e


def convert_upsampler(
    first_config: Part,
    first_weights: tuple[StateDict, str],
    last_config: Part | None,
    last_weights: tuple[StateDict, str] | None,
    low_res: int,
    diffusion: DiffusionConfig,
) -> Upsampler:
    cfg = upsampler_config(
        ConfigView(*first_config), ConfigView(*last_config) if last_config else None, low_res, diffusion
    )
    upsampler = Upsampler(cfg)
    mappers = [StateMapper(*first_weights)]
    map_unet(mappers[0], cfg.unet, "unet.")
    if last_weights is not None:
        mappers.append(StateMapper(*last_weights))
        map_unet(mappers[1], cfg.unet, "unet_last.")
    upsampler.load_state_dict(assemble(upsampler, mappers), strict=True)
    return upsampler
