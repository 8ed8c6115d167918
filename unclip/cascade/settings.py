"""Sampler settings: per stage (`StageSampling`), per model (`SamplingConfig`, stored in its model
directory), and the keyword overrides a call may give (`parse_stage_settings`)."""

from __future__ import annotations

import difflib
import math
from dataclasses import dataclass, field
from typing import Any

from unclip.errors import InputError, UnknownSettingError
from unclip.utils.config import Config


@dataclass
class StageSampling(Config):
    """Sampler settings of one stage. `guidance` 1.0 means no classifier-free guidance."""

    sampler: str = "ddpm"  # "ddpm" | "ddim" | "dpm++2m"
    steps: int = 25
    guidance: float = 1.0
    eta: float = 0.0  # DDIM only
    # Upsamplers only: run the last `start` fraction of the reverse process, from the resized low-res
    # image noised to that level, instead of from pure noise (1.0). Keeps the low-res colours and
    # layout and saves steps; 0.25-0.5 suits an upsampler trained briefly.
    start: float = 1.0

    def __post_init__(self) -> None:
        if self.sampler not in ("ddpm", "ddim", "dpm++2m"):
            raise ValueError(f"sampler must be 'ddpm', 'ddim' or 'dpm++2m', got {self.sampler!r}")
        if self.steps < 1:
            raise ValueError(f"steps must be >= 1, got {self.steps}")
        if not (math.isfinite(self.guidance) and self.guidance >= 0):
            raise ValueError(f"guidance must be a finite number >= 0, got {self.guidance}")
        if not (math.isfinite(self.eta) and self.eta >= 0):
            raise ValueError(f"eta must be a finite number >= 0, got {self.eta}")
        if self.eta != 0 and self.sampler != "ddim":
            raise ValueError(f"eta applies to the 'ddim' sampler only, got eta={self.eta} for {self.sampler!r}")
        if not 0 < self.start <= 1:
            raise ValueError(f"start must be in (0, 1], got {self.start}")


@dataclass
class SamplingConfig(Config):
    """Default sampler settings stored with a model (Karlo's: 25 / 25 / 7 steps, guidance 4 and 8)."""

    prior: StageSampling = field(default_factory=lambda: StageSampling("ddpm", 25, 4.0))
    decoder: StageSampling = field(default_factory=lambda: StageSampling("ddpm", 25, 8.0))
    upsampler_256: StageSampling = field(default_factory=lambda: StageSampling("ddpm", 7, 1.0))
    upsampler_1024: StageSampling = field(default_factory=lambda: StageSampling("ddim", 15, 1.0))
    prior_candidates: int = 2  # draw this many image embeddings, keep the one closest to the text
    edit_method: str = "auto"  # what an edit's method "auto" means for this model: "trained", "zero-shot", or "auto" (trained when the model has an inpainting decoder)
    outpaint_method: str = "auto"  # what outpainting's method "auto" means: "trained", "zero-shot", or "auto" (the same as edits)
    edit_guidance: float | None = None  # decoder guidance of edits (inpainting, outpainting) unless a call sets decoder_guidance; None: decoder.guidance
    edit_context: float = 0.0  # an edit's image embedding: slerp from the prompt's prior sample (0) toward the CLIP embedding of the picture's kept pixels (1)
    vary_keep: float = 0.0  # variations: the decoder starts from the source's 64 px picture noised (1 - vary_keep) of the way (0: pure noise, the paper's)

    def __post_init__(self) -> None:
        if self.prior_candidates < 1:
            raise ValueError(f"prior_candidates: must be at least 1, got {self.prior_candidates}")
        if self.edit_method not in ("auto", "trained", "zero-shot"):
            raise ValueError(f"edit_method: must be auto, trained or zero-shot, got {self.edit_method!r}")
        if self.outpaint_method not in ("auto", "trained", "zero-shot"):
            raise ValueError(f"outpaint_method: must be auto, trained or zero-shot, got {self.outpaint_method!r}")
        if self.edit_guidance is not None and not (math.isfinite(self.edit_guidance) and self.edit_guidance >= 0):
            raise ValueError(f"edit_guidance: must be a finite number >= 0, got {self.edit_guidance}")
        if not 0.0 <= self.edit_context <= 1.0:
            raise ValueError(f"edit_context: must be between 0 and 1, got {self.edit_context}")
        if not 0.0 <= self.vary_keep < 1.0:
            raise ValueError(f"vary_keep: must be at least 0 and below 1, got {self.vary_keep}")
        for stage in ("prior", "decoder"):
            if getattr(self, stage).start != 1.0:
                raise ValueError(f"{stage}: start applies to the upsamplers only (they have a low-res image to start from)")

    def with_overrides(self, overrides: dict[str, dict[str, Any]]) -> SamplingConfig:
        data = self.to_dict()
        for stage, values in overrides.items():
            if stage in ("prior_candidates", "edit_method", "outpaint_method", "edit_guidance", "edit_context", "vary_keep"):
                data[stage] = values
                continue
            if stage not in data:
                raise ValueError(f"unknown stage {stage!r}; stages: prior, decoder, upsampler_256, upsampler_1024")
            given = {k: v for k, v in values.items() if v is not None}
            if given.get("sampler", "ddim") != "ddim" and "eta" not in given:
                given["eta"] = 0.0  # a stored eta is DDIM's noise level; the other samplers take none
            data[stage].update(given)
        return SamplingConfig.from_dict(data)



STAGE_SETTINGS = [f"{stage}_{name}" for stage in ("prior", "decoder", "upsampler_256", "upsampler_1024")
                  for name in ("sampler", "steps", "guidance", "eta", "start")] + ["prior_candidates"]


def _did_you_mean(key: str) -> str:
    close = difflib.get_close_matches(key, STAGE_SETTINGS, n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def parse_stage_settings(sampling: SamplingConfig, settings: dict[str, Any]) -> SamplingConfig:
    """Apply keyword overrides like `decoder_steps=10, prior_guidance=2.0, upsampler_256_sampler="ddim"`."""
    overrides: dict[str, dict[str, Any]] = {}
    for key, value in settings.items():
        if value is None:
            continue
        if key == "prior_candidates":
            overrides["prior_candidates"] = value  # type: ignore[assignment]
            continue
        if key not in STAGE_SETTINGS:
            raise UnknownSettingError(f"unknown stage setting {key!r}{_did_you_mean(key)} (use "
                                      "<prior|decoder|upsampler_256|upsampler_1024>_<sampler|steps|guidance|eta|start>"
                                      " or prior_candidates)")
        stage, _, field_name = key.rpartition("_")
        overrides.setdefault(stage, {})[field_name] = value
    try:
        return sampling.with_overrides(overrides)
    except ValueError as e:
        raise InputError(str(e)) from e
