"""diffusers' GLIDE-style U-Nets (Karlo's decoder and super-resolution nets) -> unclip's :class:`UNet`.

Supported layouts: `UNet2DConditionModel` with `ResnetDownsampleBlock2D` / `SimpleCrossAttnDownBlock2D`
down blocks, the mirrored `ResnetUpsampleBlock2D` / `SimpleCrossAttnUpBlock2D` up blocks and a
`UNetMidBlock2DSimpleCrossAttn` middle (the decoder); `UNet2DModel` with `ResnetDownsampleBlock2D` /
`ResnetUpsampleBlock2D` and an attention-free `UNetMidBlock2D` (the upsamplers). Those blocks are
GLIDE's: residual blocks that resample inside (nearest / 2x2 average pool), attention whose keys and
values are [projected context tokens, image positions]. Every other setting must be the one that
keeps the computation equal to ours, else the conversion fails naming it.

Name map (diffusers -> unclip): `time_embedding.linear_{1,2}` -> `time_embed.linear_{1,2}`;
`down_blocks.i.{resnets,attentions}.j` -> `down.i.{res,attn}.j`; `down_blocks.i.downsamplers.0` ->
`down.i.resample`; `mid_block.resnets.{0,1}` -> `mid_res{1,2}`, `mid_block.attentions.0` ->
`mid_attn`; `up_blocks.i...` -> `up.i...` (`upsamplers.0` -> `resample`); `conv_norm_out` ->
`norm_out`. In a residual block `time_emb_proj` -> `emb_proj`, `conv_shortcut` -> `skip`; in an
attention layer `group_norm` -> `norm`, `to_q`+`to_k`+`to_v` -> `qkv` (rows stacked),
`add_k_proj`+`add_v_proj` -> `context_kv_proj`, `to_out.0` -> `out`.
"""

from __future__ import annotations

from unclip.convert.mapping import ConfigView, StateMapper
from unclip.errors import ModelFormatError
from unclip.models.unet import UNetConfig

_DOWN = {"ResnetDownsampleBlock2D": False, "SimpleCrossAttnDownBlock2D": True}
_UP = {"ResnetUpsampleBlock2D": False, "SimpleCrossAttnUpBlock2D": True}
_MID_ATTENTION = {"UNetMidBlock2DSimpleCrossAttn": True, "UNetMidBlock2D": False}

# Settings that do not change what these blocks compute.
_IGNORED = (
    "sample_size",  # read by the caller (image size); the nets are fully convolutional
    "upcast_attention",  # precision of the attention softmax only
    "use_linear_projection",  # used by transformer attention blocks, not by the simple cross-attention ones
    "transformer_layers_per_block",  # likewise
    "reverse_transformer_layers_per_block",
    "downsample_padding",  # used by conv downsamplers; these blocks resample inside residual blocks
    "downsample_type",
    "upsample_type",
    "attention_type",  # "default"; checked for transformer blocks only
    "addition_embed_type_num_heads",  # only with addition_embed_type, which must be unset
    "attn_norm_num_groups",  # UNet2DModel attention, which must be off
    "num_train_timesteps",  # only for learned time embeddings (time_embedding_type must be positional)
)


def unet_config(cfg: ConfigView, conditional: bool) -> UNetConfig:
    """A :class:`UNetConfig` from a diffusers U-Net config (`conditional`: UNet2DConditionModel)."""
    channels = tuple(int(c) for c in cfg.need("block_out_channels"))
    down = list(cfg.need("down_block_types"))
    up = list(cfg.need("up_block_types"))
    if len(down) != len(channels) or len(up) != len(channels):
        raise ModelFormatError(
            f"{cfg.where}: {len(down)} down / {len(up)} up block types for {len(channels)} block_out_channels"
        )
    bad = [b for b in down if b not in _DOWN] + [b for b in up if b not in _UP]
    if bad:
        raise ModelFormatError(
            f"{cfg.where}: block type(s) {sorted(set(bad))} not supported "
            f"(supported: {sorted(_DOWN) + sorted(_UP)})"
        )
    attention = tuple(_DOWN[b] for b in down)
    if tuple(_UP[b] for b in reversed(up)) != attention:
        raise ModelFormatError(f"{cfg.where}: up_block_types {up} do not mirror down_block_types {down}")
    layers = cfg.need("layers_per_block")
    if not isinstance(layers, int):
        raise ModelFormatError(f"{cfg.where}: layers_per_block must be one integer, got {layers!r}")

    mid_type = cfg.get("mid_block_type", "UNetMidBlock2DCrossAttn" if conditional else "UNetMidBlock2D")
    if mid_type not in _MID_ATTENTION:
        raise ModelFormatError(
            f"{cfg.where}: mid_block_type {mid_type!r} not supported (supported: {sorted(_MID_ATTENTION)})"
        )
    mid_attention = _MID_ATTENTION[mid_type]
    if not conditional:
        cfg.expect("add_attention", True, allowed=(False,))
    if (any(attention) or mid_attention) and not conditional:
        raise ModelFormatError(f"{cfg.where}: attention blocks need a UNet2DConditionModel")

    shift = cfg.expect("resnet_time_scale_shift", "default", allowed=("default", "scale_shift"))
    eps = cfg.get("norm_eps", 1e-5)
    groups = cfg.get("norm_num_groups", 32)
    head_channels = 64
    context_dim = None
    if conditional:
        cfg.expect("class_embed_type", None, allowed=("identity",))
        if any(attention) or mid_attention:
            head_channels = cfg.need("attention_head_dim")
            if not isinstance(head_channels, int):
                raise ModelFormatError(
                    f"{cfg.where}: attention_head_dim must be one integer, got {head_channels!r}"
                )
            context_dim = cfg.need("cross_attention_dim")
            # diffusers builds these attention layers' GroupNorm with its default eps, 1e-5.
            cfg.expect("norm_eps", 1e-5)
        else:
            cfg.ignore("attention_head_dim", "cross_attention_dim")
        for key, neutral in (
            ("only_cross_attention", False),
            ("dual_cross_attention", False),
            ("resnet_skip_time_act", False),
            ("class_embeddings_concat", False),
            ("mid_block_only_cross_attention", None),
        ):
            cfg.expect(key, neutral, allowed=(neutral, False, None))
        cfg.expect("resnet_out_scale_factor", 1.0)
        for key in (
            "encoder_hid_dim",
            "encoder_hid_dim_type",
            "addition_embed_type",
            "addition_time_embed_dim",
            "num_attention_heads",
            "time_embedding_act_fn",
            "timestep_post_act",
            "time_cond_proj_dim",
            "projection_class_embeddings_input_dim",
            "cross_attention_norm",
        ):
            cfg.expect(key, None)
        cfg.expect("conv_in_kernel", 3)
        cfg.expect("conv_out_kernel", 3)
    else:
        cfg.expect("class_embed_type", None)
        cfg.ignore("attention_head_dim")
    cfg.expect("num_class_embeds", None)
    cfg.expect("flip_sin_to_cos", True)
    cfg.expect("freq_shift", 0)
    cfg.expect("act_fn", "silu")
    cfg.expect("center_input_sample", False)
    cfg.expect("time_embedding_type", "positional")
    cfg.expect("mid_block_scale_factor", 1, allowed=(1, 1.0))
    emb_dim = cfg.get("time_embedding_dim")
    dropout = float(cfg.get("dropout", 0.0))
    cfg.ignore(*_IGNORED)
    in_channels, out_channels = cfg.need("in_channels"), cfg.need("out_channels")
    cfg.finish()
    try:
        return UNetConfig(
            in_channels=in_channels,
            out_channels=out_channels,
            channels=channels,
            blocks_per_level=layers,
            attention_levels=attention,
            mid_attention=mid_attention,
            head_channels=head_channels,
            context_dim=context_dim,
            scale_shift=shift == "scale_shift",
            emb_dim=emb_dim,
            groups=groups,
            eps=eps,
            dropout=dropout,
        )
    except ValueError as e:
        raise ModelFormatError(f"{cfg.where}: {e}") from e


def _resblock(m: StateMapper, ours: str, theirs: str) -> None:
    for a, b in (
        ("norm1", "norm1"),
        ("conv1", "conv1"),
        ("emb_proj", "time_emb_proj"),
        ("norm2", "norm2"),
        ("conv2", "conv2"),
    ):
        m.module(f"{ours}.{a}", f"{theirs}.{b}")
    m.module_if_present(f"{ours}.skip", f"{theirs}.conv_shortcut")


def _attention(m: StateMapper, ours: str, theirs: str) -> None:
    m.module(f"{ours}.norm", f"{theirs}.group_norm")
    m.fuse(f"{ours}.qkv", [f"{theirs}.to_q", f"{theirs}.to_k", f"{theirs}.to_v"])
    m.fuse(f"{ours}.context_kv_proj", [f"{theirs}.add_k_proj", f"{theirs}.add_v_proj"])
    m.module(f"{ours}.out", f"{theirs}.to_out.0")


def map_unet(m: StateMapper, cfg: UNetConfig, ours: str) -> None:
    """Map a diffusers U-Net state dict (keys at the source's top level) onto our `ours` prefix."""
    assert cfg.attention_levels is not None
    m.module(f"{ours}time_embed.linear_1", "time_embedding.linear_1")
    m.module(f"{ours}time_embed.linear_2", "time_embedding.linear_2")
    m.module(f"{ours}conv_in", "conv_in")
    levels = len(cfg.channels)
    for i in range(levels):
        for j in range(cfg.blocks_per_level):
            _resblock(m, f"{ours}down.{i}.res.{j}", f"down_blocks.{i}.resnets.{j}")
            if cfg.attention_levels[i]:
                _attention(m, f"{ours}down.{i}.attn.{j}", f"down_blocks.{i}.attentions.{j}")
        if i != levels - 1:
            _resblock(m, f"{ours}down.{i}.resample", f"down_blocks.{i}.downsamplers.0")
    _resblock(m, f"{ours}mid_res1", "mid_block.resnets.0")
    if cfg.mid_attention:
        _attention(m, f"{ours}mid_attn", "mid_block.attentions.0")
    _resblock(m, f"{ours}mid_res2", "mid_block.resnets.1")
    for i in range(levels):
        level = levels - 1 - i
        for j in range(cfg.blocks_per_level + 1):
            _resblock(m, f"{ours}up.{i}.res.{j}", f"up_blocks.{i}.resnets.{j}")
            if cfg.attention_levels[level]:
                _attention(m, f"{ours}up.{i}.attn.{j}", f"up_blocks.{i}.attentions.{j}")
        if level != 0:
            _resblock(m, f"{ours}up.{i}.resample", f"up_blocks.{i}.upsamplers.0")
    m.module(f"{ours}norm_out", "conv_norm_out")
    m.module(f"{ours}conv_out", "conv_out")
