"""Sampler construction and the sampling loop (the entry points the pipeline uses).

The sampler classes live in their own modules; this one re-exports them with ``make_sampler``,
``sample_loop``, ``q_sample_between`` and ``ddim_invert``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from typing import Literal

import torch

from unclip.errors import InputError

from .ddim import DDIMSampler
from .ddpm import DDPMSampler
from .dpm_solver import DPMSolverPP2MSampler
from .inversion import ddim_invert
from .parameterization import Prediction
from .sampler_base import Sampler, randn_for
from .schedule import NoiseSchedule
from .timesteps import logsnr_timesteps, sampling_timesteps

__all__ = [
    "SAMPLER_NAMES",
    "DDIMSampler",
    "DDPMSampler",
    "DPMSolverPP2MSampler",
    "Sampler",
    "SamplerName",
    "ddim_invert",
    "make_sampler",
    "q_sample_between",
    "sample_loop",
    "sampling_timesteps",
]

SamplerName = Literal["ddpm", "ddim", "dpm++2m"]
SAMPLER_NAMES: tuple[SamplerName, ...] = ("ddpm", "ddim", "dpm++2m")

ModelFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
StepHook = Callable[[torch.Tensor, int], torch.Tensor]
Progress = Callable[[Iterable[int]], Iterable[int]]
# watch(i, x0): after step i; x0() computes the clean-sample estimate the step was made from
Watch = Callable[[int, Callable[[], torch.Tensor]], None]


def make_sampler(
    name: SamplerName,
    schedule: NoiseSchedule,
    steps: int,
    *,
    prediction: Prediction = "epsilon",
    learned_variance: bool = False,
    clip_range: float | None = 1.0,
    eta: float = 0.0,
    spacing: Literal["auto", "uniform", "logsnr"] = "auto",
    start_timestep: int | None = None,
) -> Sampler:
    """A sampler over ``sampling_timesteps(schedule.num_timesteps, steps)``.

    ``eta`` is DDIM's noise level; it is an error for the other samplers (rather than being ignored).
    ``learned_variance`` makes DDPM use the network's variance ("learned_range"); DDIM and
    DPM-Solver++ only drop the extra channels. Bad names and settings raise ``InputError``.
    ``spacing``: "uniform" is Karlo's evenly spaced timesteps; "logsnr" spaces them evenly in log-SNR;
    "auto" uses log-SNR for DPM-Solver++ (a multistep solver needs even steps in lambda) and Karlo's
    spacing for DDPM and DDIM. ``start_timestep`` begins the walk there instead of at T-1 (the caller
    then starts from x at that noise level, e.g. a noised low-res image for an upsampler).
    """
    if name not in SAMPLER_NAMES:
        raise InputError(f"unknown sampler {name!r}; expected one of {list(SAMPLER_NAMES)}")
    if name != "ddim" and eta != 0:
        raise InputError(f"eta applies to the 'ddim' sampler only, got eta={eta} for {name!r}")
    if spacing not in ("auto", "uniform", "logsnr"):
        raise InputError(f"unknown timestep spacing {spacing!r}; expected 'auto', 'uniform' or 'logsnr'")
    if spacing == "logsnr" or (spacing == "auto" and name == "dpm++2m"):
        ab = schedule.alphas_cumprod.tolist()
        timesteps = logsnr_timesteps(ab if start_timestep is None else ab[: start_timestep + 1], steps)
    else:
        timesteps = sampling_timesteps(schedule.num_timesteps, steps, start_timestep)
    cls = {"ddpm": DDPMSampler, "ddim": DDIMSampler, "dpm++2m": DPMSolverPP2MSampler}[name]
    extra = {"eta": eta} if name == "ddim" else {}
    return cls(
        schedule,
        timesteps,
        prediction=prediction,
        learned_variance=learned_variance,
        clip_range=clip_range,
        **extra,
    )


def sample_loop(
    model_fn: ModelFn,
    x_T: torch.Tensor,
    sampler: Sampler,
    generator: torch.Generator | None = None,
    on_step: StepHook | None = None,
    progress: Progress | None = None,
    watch: Watch | None = None,
) -> torch.Tensor:
    """Run ``sampler`` from ``x_T`` (noise at ``sampler.timesteps[0]``) to a clean sample.

    ``model_fn(x, t)`` gets the training timestep as a long tensor ``[B]`` on x's device and returns
    the raw output. ``on_step(x, i)``, if given, may replace x after step i (inpainting pastes the
    forward-noised known region there). ``progress`` wraps the timestep list, e.g. ``tqdm.tqdm``.
    ``watch(i, x0)``, if given, is called after step i with a function computing that step's clean-sample
    estimate (clipped x0; only computed when called, and it draws no random numbers, so watching never
    changes the result).
    Gradients are not disabled here; wrap the call in ``torch.inference_mode()`` when none are needed.
    """
    sampler.reset()
    x = x_T
    timesteps: Iterable[int] = sampler.timesteps if progress is None else progress(sampler.timesteps)
    for i, t in enumerate(timesteps):
        t_batch = torch.full((x.shape[0],), int(t), dtype=torch.long, device=x.device)
        out = model_fn(x, t_batch)
        x_prev = x
        x = sampler.step(out, i, x, generator)
        if watch is not None:
            watch(i, lambda: sampler.denoise(out, i, x_prev)[0])  # noqa: B023 - called at once
        if on_step is not None:
            x = on_step(x, i)
    return x


def q_sample_between(
    schedule: NoiseSchedule,
    x: torch.Tensor,
    t_from: int,
    t_to: int,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """Forward-noise x from timestep ``t_from`` to the noisier ``t_to`` (``t_from = -1``: clean data):
    x_to = sqrt(ab_to / ab_from) x + sqrt(1 - ab_to / ab_from) z. Used by RePaint-style resampling."""
    if not -1 <= t_from <= t_to < schedule.num_timesteps:
        raise ValueError(
            f"need -1 <= t_from <= t_to < {schedule.num_timesteps}, got t_from={t_from}, t_to={t_to}"
        )
    if t_from == t_to:
        return x
    ratio = schedule.alpha_bar_at(t_to) / schedule.alpha_bar_at(t_from)
    return math.sqrt(ratio) * x + math.sqrt(1 - ratio) * randn_for(x, generator)
