"""DDIM sampling (Song et al., 2021): deterministic for eta = 0, ancestral-like for eta = 1."""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch

from unclip.errors import InputError

from .parameterization import Prediction
from .sampler_base import Sampler, randn_for
from .schedule import NoiseSchedule


class DDIMSampler(Sampler):
    """x_prev = sqrt(ab') x0 + sqrt(1 - ab' - sigma^2) eps + sigma z, with
    sigma = eta sqrt((1 - ab') / (1 - ab)) sqrt(1 - ab / ab'). Variance channels are ignored."""

    def __init__(
        self,
        schedule: NoiseSchedule,
        timesteps: Sequence[int],
        *,
        prediction: Prediction = "epsilon",
        learned_variance: bool = False,
        clip_range: float | None = 1.0,
        eta: float = 0.0,
    ) -> None:
        super().__init__(
            schedule,
            timesteps,
            prediction=prediction,
            learned_variance=learned_variance,
            clip_range=clip_range,
        )
        if not eta >= 0:
            raise InputError(f"eta must be non-negative, got {eta}")
        self.eta = float(eta)

    def _step(
        self,
        model_output: torch.Tensor,
        i: int,
        x: torch.Tensor,
        generator: torch.Generator | None,
    ) -> torch.Tensor:
        x0, eps, _ = self.denoise(model_output, i, x)
        prev = self.prev_timestep(i)
        if prev < 0:
            return x0
        ab_t = self.schedule.alpha_bar_at(self.timesteps[i])
        ab_prev = self.schedule.alpha_bar_at(prev)
        sigma = self.eta * math.sqrt((1 - ab_prev) / (1 - ab_t) * (1 - ab_t / ab_prev))
        out = math.sqrt(ab_prev) * x0 + math.sqrt(max(1 - ab_prev - sigma**2, 0.0)) * eps
        if sigma > 0:
            out = out + sigma * randn_for(x, generator)
        return out
