"""Config documentation from the source: every field's trailing `# comment` is its description.

Used to write commented example configs (`unclip train init-config`) and the field reference in
docs/TRAINING.md (`python -m unclip.training.docs > fields.md`), so the two never drift apart.
"""

from __future__ import annotations

import dataclasses
import inspect
import re
import typing
from functools import cache
from typing import Any

from unclip.utils.config import Config

_FIELD = re.compile(r"^\s+(\w+)\s*:\s*[^#]*?(?:#\s*(.*))?$")


# Descriptions of the model-config fields whose source has no comment (those classes live in
# unclip.models; a comment added there takes precedence over these).
EXTRA_DOCS: dict[str, dict[str, str]] = {
    "ClipConfig": {
        "embed_dim": "size of the joint text/image embedding",
        "vocab_size": "tokenizer vocabulary size (the clip stage sets it from its tokenizer)",
        "bos_token_id": "start-of-text token id (set from the tokenizer)",
        "eos_token_id": "end-of-text token id (set from the tokenizer)",
        "pad_token_id": "padding token id (set from the tokenizer)",
        "text_width": "text transformer width (the prior/decoder text_width must match)",
        "text_layers": "text transformer layers",
        "text_heads": "text transformer attention heads",
        "text_intermediate": "text MLP width (default 4 x text_width)",
        "text_max_tokens": "caption length in tokens (the prior's max_text_tokens must match)",
        "vision_width": "vision transformer width",
        "vision_layers": "vision transformer layers",
        "vision_heads": "vision transformer attention heads",
        "vision_intermediate": "vision MLP width (default 4 x vision_width)",
        "image_size": "CLIP input resolution (images are resized and centre-cropped to it)",
        "patch_size": "ViT patch size",
        "hidden_act": "activation (quick_gelu as in OpenAI CLIP, or gelu)",
        "layer_norm_eps": "LayerNorm epsilon",
        "image_mean": "per-channel normalisation mean of CLIP inputs",
        "image_std": "per-channel normalisation std of CLIP inputs",
        "image_tower": (
            "build the vision tower (must be true to train CLIP; false only for converted text-only encoders)"
        ),
    },
    "PriorConfig": {
        "max_text_tokens": "caption tokens the prior sees (must match the CLIP's text_max_tokens)",
        "width": "transformer width",
        "layers": "transformer layers",
        "heads": "attention heads",
        "mlp_ratio": "MLP width as a multiple of width",
        "norm_in": "LayerNorm on the input sequence",
        "dropout": "dropout (0 keeps runs exactly reproducible across process counts)",
        "diffusion": "the prior's diffusion settings (paper: x0 prediction, cosine schedule)",
    },
    "DecoderConfig": {
        "clip_dim": "CLIP embedding size (must match the CLIP's embed_dim)",
        "text_width": "caption token feature width (must match the CLIP's text_width)",
        "image_size": "output resolution (64 in the paper)",
        "context_tokens": "extra attention tokens projected from the CLIP image embedding (paper: 4)",
        "inpainting": "4 extra input channels: masked image + keep mask (unet.in_channels must be 7)",
    },
    "UpsamplerConfig": {
        "low_res": "input resolution (64 or 256)",
        "high_res": "output resolution (256 or 1024); the training crops are a quarter of it",
        "inpainting": "4 extra input channels: masked image + keep mask (unet.in_channels must be 10)",
        "separate_last_step": "a second U-Net for the final sampling step (Karlo's 64->256 stage)",
    },
    "UNetConfig": {
        "in_channels": "input channels (decoder 3, upsampler 6; +4 for inpainting)",
        "out_channels": "output channels (3, or 6 with a learned variance)",
        "channels": "channels per resolution level",
        "blocks_per_level": "residual blocks per level",
        "mid_attention": "attention in the middle block",
        "head_channels": "channels per attention head",
        "context_dim": "width of the context tokens the attention layers see (decoder only)",
        "scale_shift": "FiLM-style scale/shift conditioning in the residual blocks",
        "emb_dim": "timestep embedding width (default 4 x channels[0])",
        "groups": "GroupNorm groups (every channel count must be divisible by it)",
        "eps": "GroupNorm epsilon",
        "dropout": "dropout in the residual blocks",
    },
    "DiffusionConfig": {
        "num_timesteps": "training timesteps",
        "learned_variance": "also predict the variance (GLIDE hybrid loss; out_channels doubles)",
    },
}


@cache
def field_docs(cls: type) -> dict[str, str]:
    """name -> comment for the fields of a dataclass (and its bases)."""
    docs: dict[str, str] = dict(EXTRA_DOCS.get(cls.__name__, {}))
    for klass in reversed(cls.__mro__):
        if not dataclasses.is_dataclass(klass) or klass is Config:
            continue
        try:
            lines = inspect.getsource(klass).splitlines()
        except (OSError, TypeError):
            continue
        for line in lines:
            m = _FIELD.match(line)
            if m and m.group(2):
                docs[m.group(1)] = m.group(2).strip()
    return docs


def _type_name(tp: Any) -> str:
    text = str(tp).replace("typing.", "")
    return re.sub(r"<class '([\w.]+)'>", lambda m: m.group(1).rsplit(".", 1)[-1], text)


def _nested(cls: type, name: str) -> type | None:
    tp = typing.get_type_hints(cls).get(name)
    return tp if isinstance(tp, type) and issubclass(tp, Config) else None


# ---------------------------------------------------------------------------- TOML
def _toml_value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return repr(v)
    if isinstance(v, str):
        return '"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(_toml_value(x) for x in v) + "]"
    raise TypeError(f"cannot write {v!r} as TOML")


def to_toml(data: dict[str, Any], cls: type, table: str = "") -> str:
    """TOML for `data` (a config dict of class `cls`), each key commented from the class source.
    None values are left out (TOML has no null; leaving a key out gives its default)."""
    docs = field_docs(cls)
    scalars, tables = [], []
    for key, value in data.items():
        if value is None:
            continue
        sub = _nested(cls, key)
        if isinstance(value, dict) and sub is not None:
            tables.append((key, value, sub))
            continue
        comment = f"  # {docs[key]}" if key in docs else ""
        scalars.append(f"{key} = {_toml_value(value)}{comment}")
    out = []
    if table:
        out.append(f"\n[{table}]")
        doc = (cls.__doc__ or "").strip().splitlines()
        if doc and not doc[0].startswith(cls.__name__ + "("):
            out[-1] += f"  # {doc[0]}"
    out.extend(scalars)
    text = "\n".join(out)
    for key, value, sub in tables:
        text += "\n" + to_toml(value, sub, f"{table}.{key}" if table else key)
    return text if table else text.lstrip("\n") + "\n"


# ---------------------------------------------------------------------------- Markdown
def markdown_table(cls: type, prefix: str) -> list[str]:
    """Rows `| key | type | default | meaning |` for `cls`, recursing into nested configs."""
    rows, nested = [], []
    hints = typing.get_type_hints(cls)
    docs = field_docs(cls)
    for f in dataclasses.fields(cls):
        sub = _nested(cls, f.name)
        key = f"{prefix}.{f.name}" if prefix else f.name
        if sub is not None:
            nested.append((key, sub))
            continue
        if f.default is not dataclasses.MISSING:
            default = repr(f.default)
        elif f.default_factory is not dataclasses.MISSING:  # type: ignore[misc]
            default = repr(f.default_factory())  # type: ignore[misc]
        else:
            default = "required"
        meaning = docs.get(f.name, "").replace("|", "\\|")
        rows.append(f"| `{key}` | `{_type_name(hints[f.name])}` | `{default}` | {meaning} |")
    for key, sub in nested:
        rows.extend(markdown_table(sub, key))
    return rows


def render_reference() -> str:
    from unclip.data.config import DataConfig
    from unclip.training.config import CONFIG_CLASSES, LoopConfig, OptimConfig, TrainConfig

    out = ["| key | type | default | meaning |", "| --- | --- | --- | --- |"]
    out += [r for r in markdown_table(TrainConfig, "") if r.startswith("| `run_dir`")]
    for cls, prefix in ((DataConfig, "data"), (LoopConfig, "train"), (OptimConfig, "optim")):
        out += markdown_table(cls, prefix)
    text = "\n".join(out) + "\n"
    for stage, config_cls in CONFIG_CLASSES.items():
        stage_cls = typing.get_type_hints(config_cls)[stage]
        text += f"\n### [{stage}]\n\n{(stage_cls.__doc__ or '').strip()}\n\n"
        text += "| key | type | default | meaning |\n| --- | --- | --- | --- |\n"
        text += "\n".join(markdown_table(stage_cls, stage)) + "\n"
    return text


if __name__ == "__main__":
    print(render_reference())
