"""Noise schedules, training losses and samplers; independent of which network they drive."""

from .gaussian_diffusion import GaussianDiffusion
from .parameterization import (
    PREDICTIONS,
    Prediction,
    check_prediction,
    eps_from_output,
    output_from_x0_eps,
    split_output,
    x0_from_output,
)
from .sampler_base import randn
from .samplers import (
    SAMPLER_NAMES,
    DDIMSampler,
    DDPMSampler,
    DPMSolverPP2MSampler,
    Sampler,
    SamplerName,
    ddim_invert,
    make_sampler,
    q_sample_between,
    sample_loop,
    sampling_timesteps,
)
from .schedule import NoiseSchedule, ScheduleKind, make_betas

__all__ = [
    "PREDICTIONS",
    "SAMPLER_NAMES",
    "DDIMSampler",
    "DDPMSampler",
    "DPMSolverPP2MSampler",
    "GaussianDiffusion",
    "NoiseSchedule",
    "Prediction",
    "Sampler",
    "SamplerName",
    "ScheduleKind",
    "check_prediction",
    "ddim_invert",
    "eps_from_output",
    "make_betas",
    "make_sampler",
    "output_from_x0_eps",
    "q_sample_between",
    "randn",
    "sample_loop",
    "sampling_timesteps",
    "split_output",
    "x0_from_output",
]
