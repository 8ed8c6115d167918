"""Which training timesteps a sampler visits."""

from __future__ import annotations

import itertools
import math

from unclip.errors import InputError


def sampling_timesteps(num_train_timesteps: int, steps: int, start: int | None = None) -> list[int]:
    """``steps`` timesteps, descending from ``num_train_timesteps - 1`` (or ``start``) to 0 (Karlo's spacing).

    ``round(i * (T - 1) / (steps - 1))`` for i = 0..steps-1, reversed, with round-half-to-even as
    numpy does; equal to diffusers' ``UnCLIPScheduler.set_timesteps``. For ``steps <= T`` the values
    are distinct. ``steps == 1`` gives ``[T - 1]``: a single jump from pure noise straight to the x0
    prediction (the formula divides by zero there).
    """
    if num_train_timesteps < 1:
        raise ValueError(f"num_train_timesteps must be at least 1, got {num_train_timesteps}")
    if not 1 <= steps <= num_train_timesteps:
        raise InputError(f"steps must be between 1 and {num_train_timesteps}, got {steps}")
    first = num_train_timesteps - 1 if start is None else start
    if not 0 <= first < num_train_timesteps:
        raise InputError(f"start timestep must lie in [0, {num_train_timesteps - 1}], got {first}")
    if steps > first + 1:
        raise InputError(f"{steps} steps do not fit between timestep {first} and 0")
    if steps == 1:
        return [first]
    ratio = first / (steps - 1)
    return [round(i * ratio) for i in reversed(range(steps))]


LAMBDA_FLOOR = -5.0  # log(alpha / sigma): SNR e^-10, under 0.01% of the signal's power


def logsnr_timesteps(alphas_cumprod: list[float], steps: int) -> list[int]:
    """``steps`` distinct timesteps, descending from T-1 to 0, spaced evenly in log-SNR.

    Multistep solvers (DPM-Solver++) take steps of equal size in lambda = log(alpha / sigma); with
    Karlo's evenly spaced timesteps the last interval is one huge jump in lambda and few-step samples
    come out too noisy. Each target lambda is mapped to the nearest unused integer timestep.
    """
    T = len(alphas_cumprod)
    if not 1 <= steps <= T:
        raise InputError(f"steps must be between 1 and {T}, got {steps}")
    if steps == 1:
        return [T - 1]
    lam = [0.5 * (math.log(a) - math.log1p(-a)) for a in alphas_cumprod]
    # The cosine schedule's last few timesteps (betas clipped at 0.999) fall off a cliff in lambda
    # (-4.3 at t=990, -9.9 at t=999): spanning that range would spend a third of the steps where x is
    # pure noise. Below LAMBDA_FLOOR nothing is left of the image, so the spacing starts there; the
    # first timestep is still T-1.
    lo, hi = max(lam[T - 1], LAMBDA_FLOOR), lam[0]
    chosen: list[int] = []
    for i in range(steps):
        target = lo + (hi - lo) * i / (steps - 1)
        # lambda decreases with t: the nearest timestep not above the previous choice minus one
        upper = chosen[-1] - 1 if chosen else T - 1
        lower = steps - 1 - i  # leave room for the remaining steps
        best = min(range(lower, upper + 1), key=lambda t: abs(lam[t] - target))
        chosen.append(best)
    chosen[0], chosen[-1] = T - 1, 0
    return chosen


def check_timesteps(timesteps: list[int], num_train_timesteps: int) -> list[int]:
    """Validate an explicit timestep list: non-empty, strictly descending, within [0, T-1]."""
    ts = [int(t) for t in timesteps]
    if not ts:
        raise ValueError("timesteps must not be empty")
    if any(a <= b for a, b in itertools.pairwise(ts)):
        raise ValueError(f"timesteps must be strictly descending, got {ts}")
    if ts[0] >= num_train_timesteps or ts[-1] < 0:
        raise ValueError(f"timesteps must lie in [0, {num_train_timesteps - 1}], got {ts[0]}..{ts[-1]}")
    return ts
