"""DPM-Solver++(2M) (Lu et al., 2022): a second-order multistep solver of the probability-flow ODE
in data (x0) prediction, stepping in lambda = log(alpha / sigma)."""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch

from .parameterization import Prediction
from .sampler_base import Sampler
from .schedule import NoiseSchedule


class DPMSolverPP2MSampler(Sampler):
    """First step first-order (no history yet), then second order using the previous step's x0;
    the final step to clean data (lambda = +inf) is first order, i.e. it returns the x0 estimate.

    The history is the x0 estimate of the previous step index; a step whose index does not follow
    the remembered one (after ``reset()``, or when a step is repeated as in RePaint resampling)
    falls back to first order rather than use a stale estimate.
    """

    def __init__(
        self,
        schedule: NoiseSchedule,
        timesteps: Sequence[int],
        *,
        prediction: Prediction = "epsilon",
        learned_variance: bool = False,
        clip_range: float | None = 1.0,
    ) -> None:
        super().__init__(
            schedule,
            timesteps,
            prediction=prediction,
            learned_variance=learned_variance,
            clip_range=clip_range,
        )
        self._last: tuple[int, torch.Tensor] | None = None

    def reset(self) -> None:
        self._last = None

    def _lambda(self, t: int) -> float:
        ab = self.schedule.alpha_bar_at(t)
        return 0.5 * (math.log(ab) - math.log1p(-ab))

    def _step(
        self,
        model_output: torch.Tensor,
        i: int,
        x: torch.Tensor,
        generator: torch.Generator | None,
    ) -> torch.Tensor:
        x0, _, _ = self.denoise(model_output, i, x)
        last, self._last = self._last, (i, x0)
        prev = self.prev_timestep(i)
        if prev < 0:
            return x0
        s = self.timesteps[i]
        ab_s = self.schedule.alpha_bar_at(s)
        ab_t = self.schedule.alpha_bar_at(prev)
        h = self._lambda(prev) - self._lambda(s)
        sigma_ratio = math.sqrt((1 - ab_t) / (1 - ab_s))
        # alpha_t (exp(-h) - 1) is negative; written as -alpha_t expm1(-h) below.
        coef = -math.sqrt(ab_t) * math.expm1(-h)
        if last is None or last[0] != i - 1 or i == 0:
            d = x0
        else:
            h_last = self._lambda(s) - self._lambda(self.timesteps[i - 1])
            r = h_last / h
            d = (1 + 1 / (2 * r)) * x0 - (1 / (2 * r)) * last[1]
        return sigma_ratio * x + coef * d
