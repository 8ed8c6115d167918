"""diffusers' `UnCLIPScheduler` config -> the :class:`DiffusionConfig` a stage stores.

unclip's DDPM sampler reproduces `UnCLIPScheduler` (respaced timesteps `round(i * 999 / (steps - 1))`,
betas recomputed for skipped steps, "fixed_small_log" / "learned_range" variances, x0 clipping), so
only the training settings need carrying over: schedule, prediction type, variance type, clip range.
"""

from __future__ import annotations

from unclip.convert.mapping import ConfigView
from unclip.errors import ModelFormatError
from unclip.models.diffusion_config import DiffusionConfig

_PREDICTION = {"epsilon": "epsilon", "sample": "x0"}
_VARIANCE = {"fixed_small_log": False, "learned_range": True}

# What Karlo's schedulers are (diffusers' conversion script and the published scheduler configs):
# used only when a scheduler folder is absent, and reported as such.
KARLO_SCHEDULERS: dict[str, dict[str, object]] = {
    "prior_scheduler": {
        "_class_name": "UnCLIPScheduler",
        "variance_type": "fixed_small_log",
        "prediction_type": "sample",
        "num_train_timesteps": 1000,
        "clip_sample": True,
        "clip_sample_range": 5.0,
    },
    "decoder_scheduler": {
        "_class_name": "UnCLIPScheduler",
        "variance_type": "learned_range",
        "prediction_type": "epsilon",
        "num_train_timesteps": 1000,
        "clip_sample": True,
        "clip_sample_range": 1.0,
    },
    "super_res_scheduler": {
        "_class_name": "UnCLIPScheduler",
        "variance_type": "fixed_small_log",
        "prediction_type": "epsilon",
        "num_train_timesteps": 1000,
        "clip_sample": True,
        "clip_sample_range": 1.0,
    },
}


def diffusion_config(data: dict[str, object], where: str) -> DiffusionConfig:
    """Map a `scheduler_config.json` of an `UnCLIPScheduler`."""
    cls = data.get("_class_name", "UnCLIPScheduler")
    if cls != "UnCLIPScheduler":
        raise ModelFormatError(f"{where}: scheduler {cls!r} not supported (Karlo uses UnCLIPScheduler)")
    cfg = ConfigView(data, where)
    cfg.expect("beta_schedule", "squaredcos_cap_v2")
    prediction = cfg.expect("prediction_type", "epsilon", allowed=tuple(_PREDICTION))
    variance = cfg.expect("variance_type", "fixed_small_log", allowed=tuple(_VARIANCE))
    clip = cfg.get("clip_sample", True)
    clip_range = float(cfg.get("clip_sample_range", 1.0))
    steps = cfg.get("num_train_timesteps", 1000)
    cfg.finish()
    if not isinstance(steps, int) or steps < 2:
        raise ModelFormatError(f"{where}: num_train_timesteps must be an integer >= 2, got {steps!r}")
    return DiffusionConfig(
        schedule="cosine",  # squaredcos_cap_v2: the improved-DDPM cosine schedule, betas capped at 0.999
        num_timesteps=steps,
        prediction=_PREDICTION[prediction],
        learned_variance=_VARIANCE[variance],
        clip_range=clip_range if clip else None,
    )
