"""Noise schedules: the betas of the forward process and the quantities derived from them.

Everything is computed and kept in float64 on the CPU. Tensors handed back to callers are cast to the
dtype and device of the tensor they will be combined with (cast on the CPU first, so that devices
without float64, such as MPS, work), and cached per (dtype, device) so that training does not pay a
host-device copy or a sync per step.
"""

from __future__ import annotations

import math
from typing import Literal

import torch

ScheduleKind = Literal["cosine", "linear"]

_COSINE_S = 0.008
_COSINE_MAX_BETA = 0.999


def _cosine_alpha_bar(u: float) -> float:
    # Nichol & Dhariwal (2021), eq. 17, without the division by f(0) (it cancels in the ratio below).
    return math.cos((u + _COSINE_S) / (1 + _COSINE_S) * math.pi / 2) ** 2


def make_betas(kind: ScheduleKind, num_timesteps: int = 1000) -> torch.Tensor:
    """The betas of a named schedule, float64, shape ``[num_timesteps]``.

    ``"cosine"`` is the improved-DDPM schedule (``squaredcos_cap_v2``: s = 0.008, betas capped at
    0.999), evaluated in Python doubles term by term like the reference implementations, so that its
    float32 cast is bit-identical to theirs. ``"linear"`` is the DDPM/GLIDE/ADM schedule, rescaled by
    ``1000 / num_timesteps`` so that other lengths describe the same continuous process.
    """
    if num_timesteps < 1:
        raise ValueError(f"num_timesteps must be at least 1, got {num_timesteps}")
    if kind == "cosine":
        betas = []
        for i in range(num_timesteps):
            t1 = i / num_timesteps
            t2 = (i + 1) / num_timesteps
            betas.append(min(1 - _cosine_alpha_bar(t2) / _cosine_alpha_bar(t1), _COSINE_MAX_BETA))
        return torch.tensor(betas, dtype=torch.float64)
    if kind == "linear":
        scale = 1000 / num_timesteps
        return torch.linspace(scale * 1e-4, scale * 0.02, num_timesteps, dtype=torch.float64)
    raise ValueError(f"unknown schedule kind {kind!r}; expected 'cosine' or 'linear'")


class NoiseSchedule:
    """A discrete forward process ``q(x_t | x_0) = N(sqrt(ab_t) x_0, (1 - ab_t) I)``, t = 0..T-1.

    Attributes (float64, CPU): ``betas``, ``alphas_cumprod`` (ab_t), ``alphas_cumprod_prev``
    (ab_{t-1}, with ab_{-1} = 1), ``posterior_variance`` (the variance of q(x_{t-1} | x_t, x_0)),
    ``posterior_log_variance_clipped`` (its log, with the t = 0 entry, which is 0, replaced by the
    t = 1 entry as in improved-DDPM), ``posterior_mean_coef_x0`` and ``posterior_mean_coef_xt``.
    """

    def __init__(self, betas: torch.Tensor) -> None:
        betas = torch.as_tensor(betas).detach().to("cpu", torch.float64)
        if betas.ndim != 1 or betas.numel() < 1:
            raise ValueError(f"betas must be a non-empty 1-D tensor, got shape {tuple(betas.shape)}")
        if not bool(((betas > 0) & (betas <= 1)).all()):
            raise ValueError("betas must lie in (0, 1]")
        self.betas = betas
        self.num_timesteps = int(betas.numel())
        ab = torch.cumprod(1.0 - betas, dim=0)
        ab_prev = torch.cat([ab.new_ones(1), ab[:-1]])
        self.alphas_cumprod = ab
        self.alphas_cumprod_prev = ab_prev
        self.posterior_variance = betas * (1.0 - ab_prev) / (1.0 - ab)
        clip_from = self.posterior_variance[1] if self.num_timesteps > 1 else betas[0]
        self.posterior_log_variance_clipped = torch.log(
            torch.cat([clip_from.reshape(1), self.posterior_variance[1:]])
        )
        self.posterior_mean_coef_x0 = betas * ab_prev.sqrt() / (1.0 - ab)
        self.posterior_mean_coef_xt = (1.0 - ab_prev) * (1.0 - betas).sqrt() / (1.0 - ab)
        # (id of buffer, dtype, device) -> (buffer, cast copy); the buffer is kept so its id stays unique.
        self._cache: dict[tuple[int, torch.dtype, torch.device], tuple[torch.Tensor, torch.Tensor]] = {}

    @classmethod
    def from_kind(cls, kind: ScheduleKind, num_timesteps: int = 1000) -> NoiseSchedule:
        return cls(make_betas(kind, num_timesteps))

    def __repr__(self) -> str:
        return f"NoiseSchedule(num_timesteps={self.num_timesteps})"

    # -- scalar access (samplers: every batch element shares one timestep) ------------------------

    def alpha_bar_at(self, t: int) -> float:
        """ab_t as a Python float (float64 precision); ``t = -1`` means clean data (ab = 1)."""
        if t == -1:
            return 1.0
        if not 0 <= t < self.num_timesteps:
            raise ValueError(f"timestep {t} is outside [-1, {self.num_timesteps - 1}]")
        return float(self.alphas_cumprod[t])

    # -- per-sample access (training: a timestep per batch element) -------------------------------

    def gather(self, values: torch.Tensor, t: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
        """``values[t]`` reshaped to ``[B, 1, ..., 1]`` so it broadcasts against ``like``.

        ``values`` is one of this schedule's float64 buffers; the result has ``like``'s dtype and device.
        """
        if t.ndim != 1 or t.shape[0] != like.shape[0]:
            raise ValueError(f"t must have shape [{like.shape[0]}], got {tuple(t.shape)}")
        key = (id(values), like.dtype, like.device)
        hit = self._cache.get(key)
        if hit is None:
            hit = (values, values.to(like.dtype).to(like.device))
            self._cache[key] = hit
        table = hit[1]
        out = table[t.to(device=like.device, dtype=torch.long)]
        return out.reshape(-1, *([1] * (like.ndim - 1)))

    def alpha_bar(self, t: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
        """ab_t for each sample, shaped to broadcast against ``like`` and in its dtype/device."""
        return self.gather(self.alphas_cumprod, t, like)

    def q_sample(self, x0: torch.Tensor, t: torch.Tensor, noise: torch.Tensor) -> torch.Tensor:
        """Draw x_t ~ q(x_t | x_0) given the standard normal ``noise`` (t: long tensor ``[B]``)."""
        ab = self.alpha_bar(t, x0)
        return ab.sqrt() * x0 + (1.0 - ab).sqrt() * noise

    def posterior_mean(self, x0: torch.Tensor, x_t: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        """The mean of q(x_{t-1} | x_t, x_0)."""
        c0 = self.gather(self.posterior_mean_coef_x0, t, x_t)
        ct = self.gather(self.posterior_mean_coef_xt, t, x_t)
        return c0 * x0 + ct * x_t
