"""Assemble trained stages into a model directory that `unclip generate` and `UnCLIP.from_pretrained` load.

Each stage comes from a run folder (its newest checkpoint's EMA weights by default) or from an existing
model directory. The prior and decoder must have been trained against the exported CLIP (run.json
records the sha256 of the CLIP weights they saw); the datasets' ATTRIBUTION.md files are merged.
"""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

from unclip.cascade.container import Cascade
from unclip.cascade.model_dir import save_cascade
from unclip.cascade.settings import SamplingConfig
from unclip.data.attribution import merge_attributions
from unclip.models.decoder import Decoder
from unclip.models.upsampler import Upsampler
from unclip.training.runs import RunDir, RunError, is_model_dir, load_clip, load_trained, weights_fingerprint

SLOTS = (
    "prior",
    "decoder",
    "upsampler_256",
    "upsampler_1024",
    "decoder_inpaint",
    "upsampler_256_inpaint",
    "upsampler_1024_inpaint",
)


def _check_slot(name: str, module: nn.Module, path: Path) -> None:
    inpaint = name.endswith("_inpaint")
    if isinstance(module, (Decoder, Upsampler)) and module.config.inpainting != inpaint:
        what = "an inpainting" if module.config.inpainting else "a text-to-image"
        raise RunError(f"{path}: {what} {name.removesuffix('_inpaint')} cannot go into the {name} slot")
    if isinstance(module, Upsampler):
        want = {"upsampler_256": (64, 256), "upsampler_1024": (256, 1024)}[name.removesuffix("_inpaint")]
        have = (module.config.low_res, module.config.high_res)
        if have != want:
            raise RunError(
                f"{path}: this upsampler maps {have[0]} -> {have[1]} px; the {name} slot needs {want[0]} -> {want[1]}"
            )


def _attribution(paths: list[Path]) -> str | None:
    """The datasets' ATTRIBUTION.md files merged (see :func:`merge_attributions`)."""
    files = [p / "ATTRIBUTION.md" for p in paths]
    return merge_attributions([f.read_text(encoding="utf-8") for f in files if f.is_file()])


def export_model(
    out: str | Path,
    clip: str | Path,
    stages: dict[str, str | Path],
    weights: str = "ema",
    dtype: torch.dtype | None = None,
    sampling: SamplingConfig | None = None,
    description: str = "",
) -> Path:
    """`stages` maps slot names (prior, decoder, upsampler_256, [upsampler_1024], [*_inpaint]) to run
    folders or model directories. Returns the written model directory."""
    unknown = set(stages) - set(SLOTS)
    if unknown:
        raise RunError(f"unknown slot(s) {sorted(unknown)}; slots: {', '.join(SLOTS)}")
    missing = [s for s in ("prior", "decoder", "upsampler_256") if s not in stages]
    if missing:
        raise RunError(f"a model needs {', '.join(missing)} too (pass the run folders)")
    clip_path = Path(clip)
    clip_model, tokenizer = load_clip(clip_path)
    clip_sha = weights_fingerprint(clip_model.state_dict())
    modules: dict[str, nn.Module] = {"clip": clip_model}
    for slot, path in stages.items():
        path = Path(path)
        module = load_trained(path, slot, weights=weights)
        _check_slot(slot, module, path)
        if not is_model_dir(path) and slot.split("_")[0] in ("prior", "decoder"):
            info = RunDir(path).read_json("run.json")
            if info.get("clip_sha256") and info["clip_sha256"] != clip_sha:
                raise RunError(
                    f"{path}: this {slot} was trained with another CLIP ({info.get('clip')}), not {clip_path}"
                )
        modules[slot] = module
    attribution = _attribution([clip_path, *[Path(p) for p in stages.values()]])
    cascade = Cascade(
        tokenizer=tokenizer, modules=modules, sampling=sampling or SamplingConfig(), attribution=attribution
    )
    save_cascade(cascade, out, dtype=dtype, description=description)
    return Path(out)
