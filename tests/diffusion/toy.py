"""A toy data set with a closed-form optimal denoiser, for testing samplers and losses exactly.

Data x0 ~ N(mu, diag(s^2)) elementwise. Given x_t = sqrt(a) x0 + sqrt(1 - a) eps (a = alpha_bar_t):
    E[x0 | x_t]   = mu + sqrt(a) s^2 / (a s^2 + 1 - a) * (x_t - sqrt(a) mu)
    Var[x0 | x_t] = s^2 (1 - a) / (a s^2 + 1 - a)
Because everything is Gaussian, the true reverse transition between any two timesteps is Gaussian too:
    x_t' | x_t ~ N(posterior mean at E[x0|x_t], posterior variance + c0^2 Var[x0|x_t]),
with c0 the posterior-mean coefficient of x0; this lets a test hand DDPM the exact variance.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import torch

from unclip.diffusion import NoiseSchedule, output_from_x0_eps

ModelFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


@dataclass
class GaussianData:
    mu: torch.Tensor  # shape of one sample
    s: torch.Tensor  # same shape, > 0

    @classmethod
    def random(
        cls,
        shape: tuple[int, ...],
        mu_range: float = 0.6,
        s_range: tuple[float, float] = (0.4, 1.0),
        seed: int = 0,
    ) -> GaussianData:
        g = torch.Generator().manual_seed(seed)
        mu = (torch.rand(shape, generator=g, dtype=torch.float64) * 2 - 1) * mu_range
        lo, hi = s_range
        s = lo + (hi - lo) * torch.rand(shape, generator=g, dtype=torch.float64)
        return cls(mu, s)

    def sample(self, n: int, generator: torch.Generator) -> torch.Tensor:
        return self.mu + self.s * torch.randn((n, *self.mu.shape), generator=generator, dtype=torch.float64)

    def x0_mean(self, x_t: torch.Tensor, ab: torch.Tensor | float) -> torch.Tensor:
        s2 = self.s**2
        return self.mu + ab**0.5 * s2 / (ab * s2 + 1 - ab) * (x_t - ab**0.5 * self.mu)

    def x0_var(self, ab: torch.Tensor | float) -> torch.Tensor:
        s2 = self.s**2
        return s2 * (1 - ab) / (ab * s2 + 1 - ab)

    def scaled(self, s_factor: float = 1.0, mu_shift: float = 0.0) -> GaussianData:
        """A deliberately wrong belief about the data (for negative controls)."""
        return GaussianData(self.mu + mu_shift, self.s * s_factor)

    def model(
        self,
        schedule: NoiseSchedule,
        prediction: str,
        variance_for: Callable[[torch.Tensor, int], torch.Tensor] | None = None,
    ) -> ModelFn:
        """The optimal network for this data in the given prediction type. ``variance_for(x, t)``
        (t an int), if given, returns the variance channels to append (learned variance)."""

        def fn(x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
            ab = schedule.alpha_bar(t, x)
            x0 = self.x0_mean(x, ab)
            eps = (x - ab.sqrt() * x0) / (1 - ab).sqrt()
            out = output_from_x0_eps(x0, eps, ab, prediction)  # type: ignore[arg-type]
            if variance_for is None:
                return out
            return torch.cat([out, variance_for(x, int(t[0]))], dim=1)

        return fn

    def exact_reverse_v(self, schedule: NoiseSchedule, t: int, prev: int) -> torch.Tensor:
        """The learned-range value v making DDPM's step t -> prev use the true reverse variance."""
        ab_t, ab_prev = schedule.alpha_bar_at(t), schedule.alpha_bar_at(prev)
        beta = 1 - ab_t / ab_prev
        post_var = max((1 - ab_prev) / (1 - ab_t) * beta, 1e-20)
        c0 = math.sqrt(ab_prev) * beta / (1 - ab_t)
        true_var = post_var + c0**2 * self.x0_var(ab_t)
        frac = (true_var.log() - math.log(post_var)) / (math.log(beta) - math.log(post_var))
        return 2 * frac - 1


def check_moments(
    x: torch.Tensor, data: GaussianData, mean_tol: float, var_band: tuple[float, float], dim_spread: float
) -> list[str]:
    """Compare sample moments with the data's. Returns the failures (empty list: all good).

    - every per-dimension mean within ``mean_tol`` data standard deviations of mu;
    - the relative variance error var/s^2 - 1, averaged over dimensions, inside ``var_band``
      (solver bias; the statistical error of this average is small);
    - every dimension's relative variance error within ``dim_spread`` of that average.
    """
    flat = x.reshape(x.shape[0], -1)
    mu, s = data.mu.reshape(-1), data.s.reshape(-1)
    failures = []
    mean_err = ((flat.mean(0) - mu) / s).abs().max().item()
    if mean_err > mean_tol:
        failures.append(f"mean off by {mean_err:.4f} std (tol {mean_tol})")
    rel = flat.var(0) / s**2 - 1
    avg = rel.mean().item()
    if not var_band[0] <= avg <= var_band[1]:
        failures.append(f"average relative variance error {avg:+.4f} outside {var_band}")
    spread = (rel - avg).abs().max().item()
    if spread > dim_spread:
        failures.append(
            f"a dimension's variance error deviates {spread:.4f} from the average (tol {dim_spread})"
        )
    return failures
