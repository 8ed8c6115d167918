"""Karlo's decoder (diffusers `text_proj` + `decoder`) -> unclip's :class:`Decoder`.

diffusers splits the decoder's conditioning into `UnCLIPTextProjModel`; unclip keeps it inside
:class:`Decoder`. Name map: `learned_classifier_free_guidance_embeddings` -> `null_image_embed`,
`clip_image_embeddings_project_to_time_embeddings` -> `image_to_time`, `embedding_proj` ->
`text_to_time`, `clip_extra_context_tokens_proj` -> `image_to_tokens`, `encoder_hidden_states_proj` ->
`text_hidden_proj`, `text_encoder_hidden_states_norm` -> `text_hidden_norm`; the U-Net goes to `unet.`
(see :mod:`unclip.convert.unet`).

The extra CLIP tokens: diffusers reshapes the projection to [B, ctx, tokens] and permutes to
[B, tokens, ctx], so output feature `c * tokens + t` is channel c of token t; unclip views it as
[B, tokens, ctx] (feature `t * ctx + c`). The weight rows and bias are permuted here accordingly.
"""

from __future__ import annotations

import torch

from unclip.convert.mapping import ConfigView, StateMapper, assemble
from unclip.convert.source import StateDict
from unclip.convert.unet import map_unet, unet_config
from unclip.errors import ModelFormatError
from unclip.models.decoder import Decoder, DecoderConfig
from unclip.models.diffusion_config import DiffusionConfig


def tokens_to_ours(t: torch.Tensor, tokens: int) -> torch.Tensor:
    """Permute `clip_extra_context_tokens_proj` rows from diffusers' channel-major to token-major order."""
    if t.shape[0] % tokens:
        return t  # a wrong size; the shape check names it
    ctx = t.shape[0] // tokens
    return t.reshape(ctx, tokens, *t.shape[1:]).transpose(0, 1).reshape(t.shape)


def decoder_config(unet: ConfigView, proj: ConfigView, diffusion: DiffusionConfig) -> DecoderConfig:
    size = unet.need("sample_size")
    unet_cfg = unet_config(unet, conditional=True)
    tokens = proj.get("clip_extra_context_tokens", 4)
    clip_dim = proj.get("clip_embeddings_dim", 768)
    time_dim = proj.need("time_embed_dim")
    ctx = proj.need("cross_attention_dim")
    proj.finish()
    if time_dim != unet_cfg.time_emb_dim:
        raise ModelFormatError(
            f"{proj.where}: time_embed_dim {time_dim} != the decoder's {unet_cfg.time_emb_dim}"
        )
    if ctx != unet_cfg.context_dim:
        raise ModelFormatError(
            f"{proj.where}: cross_attention_dim {ctx} != the decoder's {unet_cfg.context_dim}"
        )
    try:
        return DecoderConfig(
            clip_dim=clip_dim,
            text_width=clip_dim,  # diffusers: encoder_hidden_states_proj = Linear(clip_embeddings_dim, ctx)
            image_size=size,
            context_tokens=tokens,
            inpainting=False,
            unet=unet_cfg,
            diffusion=diffusion,
        )
    except ValueError as e:
        raise ModelFormatError(f"{unet.where}: {e}") from e


def convert_decoder(
    unet_config_data: tuple[dict, str],
    unet_weights: tuple[StateDict, str],
    proj_config_data: tuple[dict, str],
    proj_weights: tuple[StateDict, str],
    diffusion: DiffusionConfig,
) -> Decoder:
    cfg = decoder_config(ConfigView(*unet_config_data), ConfigView(*proj_config_data), diffusion)
    decoder = Decoder(cfg)
    proj = StateMapper(*proj_weights)
    proj.copy("null_image_embed", "learned_classifier_free_guidance_embeddings")
    proj.module("image_to_time", "clip_image_embeddings_project_to_time_embeddings")
    proj.module("text_to_time", "embedding_proj")
    proj.module("text_hidden_proj", "encoder_hidden_states_proj")
    proj.module("text_hidden_norm", "text_encoder_hidden_states_norm")
    for p in ("weight", "bias"):
        proj.copy(
            f"image_to_tokens.{p}",
            f"clip_extra_context_tokens_proj.{p}",
            lambda t: tokens_to_ours(t, cfg.context_tokens),
        )
    net = StateMapper(*unet_weights)
    map_unet(net, cfg.unet, "unet.")
    decoder.load_state_dict(assemble(decoder, [proj, net]), strict=True)
    return decoder
