"""Deterministic DDIM inversion: map a clean sample to the noise that DDIM (eta = 0) decodes back to it."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable

import torch

from .parameterization import Prediction, check_prediction, eps_from_output, split_output
from .schedule import NoiseSchedule
from .timesteps import sampling_timesteps

ModelFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


def ddim_invert(
    model_fn: ModelFn,
    x0: torch.Tensor,
    schedule: NoiseSchedule,
    steps: int,
    prediction: Prediction = "epsilon",
    *,
    learned_variance: bool = False,
    fixed_point_iters: int = 0,
    progress: Callable[[Iterable[int]], Iterable[int]] | None = None,
) -> torch.Tensor:
    """x_T at ``timesteps[0] = T - 1`` such that DDIM with the same ``steps`` (eta = 0, no clipping)
    approximately decodes it back to ``x0``.

    DDIM's step from the noisier t_n down to t_c is
        x_c = sqrt(ab_c / ab_n) (x_n - sqrt(1 - ab_n) eps(x_n, t_n)) + sqrt(1 - ab_c) eps(x_n, t_n),
    which, for a given eps, solves to
        x_n = sqrt(ab_n / ab_c) (x_c - sqrt(1 - ab_c) eps) + sqrt(1 - ab_n) eps.
    The usual inversion (``fixed_point_iters = 0``; ``steps`` model calls) takes eps at the known,
    less noisy point (x_c, t_c), an error of first order in the step size; the first move, from
    clean data (ab = 1) to t = 0, evaluates the network on x0 itself at t = 0. Each fixed-point
    iteration re-evaluates eps at the current estimate of (x_n, t_n), which makes the round trip
    exact in the limit (one extra model call per step and iteration).
    """
    prediction = check_prediction(prediction)
    if fixed_point_iters < 0:
        raise ValueError(f"fixed_point_iters must be non-negative, got {fixed_point_iters}")

    def eps_at(x: torch.Tensor, t: int) -> torch.Tensor:
        t_batch = torch.full((x.shape[0],), t, dtype=torch.long, device=x.device)
        out, _ = split_output(model_fn(x, t_batch), x, learned_variance)
        return eps_from_output(out, x, schedule.alpha_bar_at(t), prediction)

    up = sampling_timesteps(schedule.num_timesteps, steps)[::-1]  # 0, ..., T-1
    x = x0
    t_cur = -1  # clean data
    order: Iterable[int] = range(len(up)) if progress is None else progress(range(len(up)))
    for k in order:
        t_next = up[k]
        ab_c, ab_n = schedule.alpha_bar_at(t_cur), schedule.alpha_bar_at(t_next)
        scale = math.sqrt(ab_n / ab_c)
        eps_coef = math.sqrt(1 - ab_n) - scale * math.sqrt(1 - ab_c)
        eps = eps_at(x, max(t_cur, up[0]))
        x_next = scale * x + eps_coef * eps
        for _ in range(fixed_point_iters):
            x_next = scale * x + eps_coef * eps_at(x_next, t_next)
        x, t_cur = x_next, t_next
    return x
