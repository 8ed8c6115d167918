"""diffusers' `PriorTransformer` (Karlo's prior) -> unclip's :class:`Prior`.

Both are the DALL-E 2 prior: a causal pre-norm transformer over [caption tokens, text embedding,
timestep embedding, noisy image embedding, learned query] with learned positions, reading the clean
(normalised) image embedding off the query. diffusers' -10000 additive masks and our boolean masks give
identical softmax weights in float32.

Name map (diffusers -> unclip): `encoder_hidden_states_proj` -> `text_hidden_proj`, `embedding_proj`
-> `text_embed_proj`, `proj_in` -> `image_embed_proj`, `time_embedding` -> `time_embed`,
`positional_embedding` -> `positions`, `prd_embedding` -> `query`, `transformer_blocks.i.norm1` ->
`blocks.i.norm1`, `attn1.to_{q,k,v}` -> `qkv` (stacked), `attn1.to_out.0` -> `attn_out`, `norm3` ->
`norm2`, `ff.net.0.proj` -> `mlp_in`, `ff.net.2` -> `mlp_out`, `proj_to_clip_embeddings` -> `out`,
`clip_mean` / `clip_std` ([1, D]) -> buffers `embed_mean` / `embed_std` ([D]).
"""

from __future__ import annotations

from unclip.convert.mapping import ConfigView, StateMapper, assemble
from unclip.convert.source import StateDict
from unclip.errors import ModelFormatError
from unclip.models.diffusion_config import DiffusionConfig
from unclip.models.prior import Prior, PriorConfig


def prior_config(cfg: ConfigView, diffusion: DiffusionConfig) -> PriorConfig:
    heads = cfg.get("num_attention_heads", 32)
    head_dim = cfg.get("attention_head_dim", 64)
    width = heads * head_dim
    dim = cfg.get("embedding_dim", 768)
    cfg.expect("additional_embeddings", 4)  # text embedding, timestep, noisy embedding, query
    cfg.expect("added_emb_type", "prd")
    cfg.expect("encoder_hid_proj_type", "linear")
    cfg.expect("embedding_proj_norm_type", None)
    cfg.expect("time_embed_act_fn", "silu")
    norm_in = cfg.expect("norm_in_type", None, allowed=(None, "layer"))
    for key, same_as in (("time_embed_dim", width), ("embedding_proj_dim", dim), ("clip_embed_dim", dim)):
        value = cfg.get(key)
        if value not in (None, same_as):
            raise ModelFormatError(
                f"{cfg.where}: {key}={value} differs from {same_as}; unclip's prior needs them equal"
            )
    tokens = cfg.get("num_embeddings", 77)
    layers = cfg.get("num_layers", 20)
    dropout = float(cfg.get("dropout", 0.0))
    cfg.finish()
    return PriorConfig(
        clip_dim=dim,
        text_width=dim,  # diffusers projects the caption features with Linear(embedding_dim, inner_dim)
        max_text_tokens=tokens,
        width=width,
        layers=layers,
        heads=heads,
        mlp_ratio=4.0,
        norm_in=norm_in == "layer",
        dropout=dropout,
        diffusion=diffusion,
    )


def map_prior(m: StateMapper, cfg: PriorConfig) -> None:
    for ours, theirs in (
        ("text_hidden_proj", "encoder_hidden_states_proj"),
        ("text_embed_proj", "embedding_proj"),
        ("image_embed_proj", "proj_in"),
        ("time_embed.linear_1", "time_embedding.linear_1"),
        ("time_embed.linear_2", "time_embedding.linear_2"),
        ("norm_out", "norm_out"),
        ("out", "proj_to_clip_embeddings"),
    ):
        m.module(ours, theirs)
    if cfg.norm_in:
        m.module("norm_in", "norm_in")
    m.copy("positions", "positional_embedding")
    m.copy("query", "prd_embedding")
    m.copy("embed_mean", "clip_mean", lambda t: t.reshape(-1))
    m.copy("embed_std", "clip_std", lambda t: t.reshape(-1))
    for i in range(cfg.layers):
        ours, theirs = f"blocks.{i}", f"transformer_blocks.{i}"
        m.module(f"{ours}.norm1", f"{theirs}.norm1")
        m.fuse(f"{ours}.qkv", [f"{theirs}.attn1.to_q", f"{theirs}.attn1.to_k", f"{theirs}.attn1.to_v"])
        m.module(f"{ours}.attn_out", f"{theirs}.attn1.to_out.0")
        m.module(f"{ours}.norm2", f"{theirs}.norm3")
        m.module(f"{ours}.mlp_in", f"{theirs}.ff.net.0.proj")
        m.module(f"{ours}.mlp_out", f"{theirs}.ff.net.2")


def convert_prior(
    config: dict[str, object],
    config_where: str,
    weights: StateDict,
    weights_where: str,
    diffusion: DiffusionConfig,
) -> Prior:
    cfg = prior_config(ConfigView(config, config_where), diffusion)
    prior = Prior(cfg)
    mapper = StateMapper(weights, weights_where)
    map_prior(mapper, cfg)
    std = weights.get("clip_std")
    if std is not None and not bool((std > 0).all()):
        raise ModelFormatError(
            f"{weights_where}: clip_std has entries <= 0 (an unnormalised or uninitialised prior)"
        )
    prior.load_state_dict(assemble(prior, [mapper]), strict=True)
    return prior
