"""Karlo's CLIP towers (transformers `text_encoder` / `image_encoder` + `tokenizer`) -> :class:`ClipModel`.

unclip's CLIP (`unclip.models.clip`, its own code) names its parameters as transformers' `CLIPModel`
does: the text and vision halves have exactly the names of `CLIPTextModelWithProjection` and
`CLIPVisionModelWithProjection` under `model.`, so the tensors move unchanged. Not in Karlo:
`logit_scale` (used only for CLIP training; it keeps CLIP's initial value). Consumed after a check:
the `position_ids` buffers old transformers versions saved (they must be 0..N-1, which is what the
model computes). Without an image encoder the model gets only the text tower
(`ClipConfig.image_tower = False`).

The tokenizer's `vocab.json` + `merges.txt` are read by :func:`unclip.models.tokenizer.load_tokenizer`.
Karlo pads captions with "!" where unclip pads with the end token; padded positions are masked
everywhere downstream and CLIP's text transformer is causal, so results are the same.
"""

from __future__ import annotations

import math
from typing import Any

import torch

from unclip.convert.mapping import StateMapper, assemble
from unclip.convert.source import StateDict
from unclip.errors import ModelFormatError
from unclip.models.clip import CLIP_MEAN, CLIP_STD, ClipConfig, ClipModel
from unclip.models.clip_layers import ACTIVATIONS
from unclip.models.tokenizer import ClipTokenizer

Part = tuple[dict[str, Any], str]
_ACTS = tuple(ACTIVATIONS)


def _field(cfg: Part, key: str, default: Any = ...) -> Any:
    data, where = cfg
    if key in data:
        return data[key]
    if default is ...:
        raise ModelFormatError(f"{where}: required key {key!r} missing")
    return default


def _check_type(cfg: Part, model_type: str) -> None:
    data, where = cfg
    found = data.get("model_type", model_type)
    if found != model_type:
        raise ModelFormatError(f"{where}: model_type {found!r}, expected {model_type!r}")


def clip_config(
    text: Part, vision: Part | None, tokenizer: ClipTokenizer, preprocessor: Part | None = None
) -> ClipConfig:
    _check_type(text, "clip_text_model")
    act = _field(text, "hidden_act", "quick_gelu")
    eps = _field(text, "layer_norm_eps", 1e-5)
    dim = _field(text, "projection_dim", 512)
    if act not in _ACTS:
        raise ModelFormatError(f"{text[1]}: hidden_act {act!r} not supported (supported: {_ACTS})")
    kw: dict[str, Any] = {
        "embed_dim": dim,
        "vocab_size": _field(text, "vocab_size"),
        "bos_token_id": tokenizer.bos_token_id,
        "eos_token_id": tokenizer.eos_token_id,
        "pad_token_id": tokenizer.pad_token_id,
        "text_width": _field(text, "hidden_size"),
        "text_layers": _field(text, "num_hidden_layers"),
        "text_heads": _field(text, "num_attention_heads"),
        "text_intermediate": _field(text, "intermediate_size"),
        "text_max_tokens": _field(text, "max_position_embeddings"),
        "hidden_act": act,
        "layer_norm_eps": eps,
        "image_tower": vision is not None,
    }
    if _field(text, "eos_token_id", None) == 2:
        # transformers' legacy path pools the highest token id; unclip pools the first end token.
        # They agree when the end token has the highest id, as in CLIP's vocabulary.
        top = max(tokenizer.get_vocab().values())
        if tokenizer.eos_token_id != top:
            raise ModelFormatError(
                f"{text[1]}: legacy eos_token_id 2 pools the highest token id ({top}), which is not the "
                f"tokenizer's end token ({tokenizer.eos_token_id})"
            )
    if vision is not None:
        _check_type(vision, "clip_vision_model")
        for key, value in (("hidden_act", act), ("layer_norm_eps", eps), ("projection_dim", dim)):
            if _field(vision, key, value) != value:
                raise ModelFormatError(
                    f"{vision[1]}: {key}={_field(vision, key)!r} differs from the text encoder's {value!r}; "
                    "unclip's CLIP needs them equal"
                )
        if _field(vision, "num_channels", 3) != 3:
            raise ModelFormatError(f"{vision[1]}: num_channels must be 3")
        kw.update(
            vision_width=_field(vision, "hidden_size"),
            vision_layers=_field(vision, "num_hidden_layers"),
            vision_heads=_field(vision, "num_attention_heads"),
            vision_intermediate=_field(vision, "intermediate_size"),
            image_size=_field(vision, "image_size"),
            patch_size=_field(vision, "patch_size"),
        )
        mean, std = CLIP_MEAN, CLIP_STD
        if preprocessor is not None:
            mean = tuple(_field(preprocessor, "image_mean", CLIP_MEAN))
            std = tuple(_field(preprocessor, "image_std", CLIP_STD))
            crop = _field(preprocessor, "crop_size", kw["image_size"])
            crop = crop.get("height", crop.get("shortest_edge")) if isinstance(crop, dict) else crop
            if crop != kw["image_size"]:
                raise ModelFormatError(
                    f"{preprocessor[1]}: crop_size {crop} != the image encoder's image_size"
                )
        kw.update(image_mean=mean, image_std=std)
    try:
        return ClipConfig(**kw)
    except (TypeError, ValueError) as e:
        raise ModelFormatError(f"{text[1]}: {e}") from e


def _is_arange(t: torch.Tensor) -> bool:
    return bool(torch.equal(t.reshape(-1).long(), torch.arange(t.numel())))


def _map_tower(m: StateMapper, tower: str, projection: str) -> None:
    for key in list(m.source):
        if key == f"{tower}.embeddings.position_ids":
            m.drop(key, "position ids 0..N-1", _is_arange)
        elif key.startswith(f"{tower}.") or key == f"{projection}.weight":
            m.copy(f"model.{key}", key)


def convert_clip(
    text: Part,
    text_weights: tuple[StateDict, str],
    tokenizer: ClipTokenizer,
    tokenizer_config: dict[str, Any],
    vision: Part | None = None,
    vision_weights: tuple[StateDict, str] | None = None,
    preprocessor: Part | None = None,
) -> ClipModel:
    cfg = clip_config(text, vision, tokenizer, preprocessor)
    max_len = tokenizer_config.get("model_max_length", cfg.text_max_tokens)
    if max_len != cfg.text_max_tokens:
        raise ModelFormatError(
            f"tokenizer model_max_length {max_len} != the text encoder's max_position_embeddings "
            f"{cfg.text_max_tokens}"
        )
    clip = ClipModel(cfg)
    mappers = [StateMapper(*text_weights)]
    _map_tower(mappers[0], "text_model", "text_projection")
    if vision_weights is not None:
        mappers.append(StateMapper(*vision_weights))
        _map_tower(mappers[1], "vision_model", "visual_projection")
    defaults = {"model.logit_scale"} if cfg.image_tower else set()
    state = assemble(clip, mappers, defaults=defaults)
    if "model.logit_scale" in state:
        state["model.logit_scale"] = torch.tensor(math.log(1 / 0.07))  # CLIP's initial temperature
    clip.load_state_dict(state, strict=True)
    return clip
