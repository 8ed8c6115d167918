"""Ancestral (DDPM) sampling over respaced timesteps, as in Karlo / diffusers' UnCLIPScheduler."""

from __future__ import annotations

import math

import torch

from .parameterization import clip_x0, split_output, x0_from_output
from .sampler_base import Sampler, randn_for

# Lower bound on the posterior variance before its log is taken (it is 0 when jumping to clean data).
_MIN_VARIANCE = 1e-20


class DDPMSampler(Sampler):
    """Ancestral sampling: x_prev ~ N(posterior mean given the x0 estimate, sigma^2).

    For a respaced step t -> t' the forward process of the skipped chain is used: beta =
    1 - ab_t / ab_t' (the schedule's own beta_t when t' = t - 1). The variance is the posterior
    variance ("fixed_small_log") or, with ``learned_variance``, exp(frac log beta + (1 - frac) log
    posterior variance) with frac = (v + 1) / 2 ("learned_range"). Noise is drawn only when t > 0,
    one ``torch.randn`` per step, which reproduces diffusers' ``UnCLIPScheduler.step`` draw for draw.
    """

    def _step(
        self,
        model_output: torch.Tensor,
        i: int,
        x: torch.Tensor,
        generator: torch.Generator | None,
    ) -> torch.Tensor:
        t = self.timesteps[i]
        prev = self.prev_timestep(i)
        mean_out, var_out = split_output(model_output, x, self.learned_variance)
        ab_t = self.schedule.alpha_bar_at(t)
        ab_prev = self.schedule.alpha_bar_at(prev)
        beta = float(self.schedule.betas[t]) if prev == t - 1 else 1.0 - ab_t / ab_prev
        alpha = 1.0 - beta

        # x0 straight from the raw output; eps is not needed here (clipping happens on x0 alone).
        x0 = clip_x0(x0_from_output(mean_out, x, ab_t, self.prediction), self.clip_range)
        coef_x0 = ab_prev**0.5 * beta / (1.0 - ab_t)
        coef_xt = alpha**0.5 * (1.0 - ab_prev) / (1.0 - ab_t)
        out = coef_x0 * x0 + coef_xt * x
        if t > 0:
            noise = randn_for(x, generator)
            posterior_var = max((1.0 - ab_prev) / (1.0 - ab_t) * beta, _MIN_VARIANCE)
            if var_out is None:
                out = out + math.sqrt(posterior_var) * noise
            else:
                frac = (var_out + 1) / 2
                log_var = frac * math.log(beta) + (1 - frac) * math.log(posterior_var)
                out = out + torch.exp(0.5 * log_var) * noise
        return out
