"""Training objective of a Gaussian diffusion model: the simple MSE loss, optionally plus GLIDE's
(improved-DDPM's) variational term for a learned variance."""

from __future__ import annotations

import math
from collections.abc import Callable

import torch

from .likelihood import discretized_gaussian_log_likelihood, normal_kl
from .parameterization import (
    Prediction,
    check_prediction,
    eps_from_output,
    output_from_x0_eps,
    split_output,
    x0_from_output,
)
from .schedule import NoiseSchedule

ModelFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


def _mean_flat(x: torch.Tensor) -> torch.Tensor:
    return x.reshape(x.shape[0], -1).mean(dim=1)


def _at_least_float32(x: torch.Tensor) -> torch.Tensor:
    return x.float() if x.dtype in (torch.float16, torch.bfloat16) else x


class GaussianDiffusion:
    """Losses for a network that predicts ``prediction`` (and, if ``learned_variance``, a variance).

    With ``learned_variance`` the network returns 2C channels: the prediction and values v whose
    ``frac = (v + 1) / 2`` interpolates the log variance between the clipped log posterior variance
    (frac = 0) and log beta_t (frac = 1). The loss is then ``mse + vb``, where ``vb`` is
    ``vb_weight * num_timesteps`` times the per-timestep variational term L_t in bits per dimension:
    ``num_timesteps * L_t`` is an unbiased estimate of the full bound for uniform t, so ``vb_weight``
    is the lambda of improved-DDPM's hybrid loss, and the default 0.001 reproduces its rescaling of
    the term by ``num_timesteps / 1000``. The mean enters L_t only through a stop-gradient, so the
    term trains the variance alone. The t = 0 term is the discretized Gaussian decoder NLL, which
    assumes 8-bit data in [-1, 1] (images).
    """

    def __init__(
        self,
        schedule: NoiseSchedule,
        prediction: Prediction = "epsilon",
        learned_variance: bool = False,
        vb_weight: float = 0.001,
        min_snr_gamma: float = 0.0,
        v_weight_cap: float = 0.0,
    ) -> None:
        if vb_weight < 0:
            raise ValueError(f"vb_weight must be non-negative, got {vb_weight}")
        if min_snr_gamma < 0:
            raise ValueError(f"min_snr_gamma must be non-negative (0: off), got {min_snr_gamma}")
        if v_weight_cap < 0:
            raise ValueError(f"v_weight_cap must be non-negative (0: off), got {v_weight_cap}")
        if min_snr_gamma > 0 and v_weight_cap > 0:
            raise ValueError("min_snr_gamma and v_weight_cap are two loss weightings: set at most one")
        self.min_snr_gamma = min_snr_gamma
        self.v_weight_cap = v_weight_cap
        self.schedule = schedule
        self.prediction = check_prediction(prediction)
        self.learned_variance = learned_variance
        self.vb_weight = vb_weight
        self._log_betas = torch.log(schedule.betas)

    @property
    def num_timesteps(self) -> int:
        return self.schedule.num_timesteps

    def sample_timesteps(
        self,
        batch: int,
        generator: torch.Generator | None = None,
        device: torch.device | str | None = None,
    ) -> torch.Tensor:
        """Uniform training timesteps, long ``[batch]`` (``device`` must match the generator's)."""
        return torch.randint(0, self.num_timesteps, (batch,), generator=generator, device=device)

    # -- parameterization --------------------------------------------------------------------------

    def _mean_part(self, model_out: torch.Tensor, x_t: torch.Tensor) -> torch.Tensor:
        if self.learned_variance and model_out.shape[1] == 2 * x_t.shape[1]:
            return split_output(model_out, x_t, True)[0]
        return model_out

    def predict_x0(self, model_out: torch.Tensor, x_t: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        """x0 implied by the network output (variance channels, if present, are ignored)."""
        return x0_from_output(
            self._mean_part(model_out, x_t), x_t, self.schedule.alpha_bar(t, x_t), self.prediction
        )

    def predict_eps(self, model_out: torch.Tensor, x_t: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        """Noise implied by the network output (variance channels, if present, are ignored)."""
        return eps_from_output(
            self._mean_part(model_out, x_t), x_t, self.schedule.alpha_bar(t, x_t), self.prediction
        )

    def target(self, x0: torch.Tensor, noise: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        """The regression target of the MSE term."""
        return output_from_x0_eps(x0, noise, self.schedule.alpha_bar(t, x0), self.prediction)

    def model_log_variance(self, var_values: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        """log variance of p(x_{t-1} | x_t) from the variance channels ("learned_range")."""
        frac = (var_values + 1) / 2
        max_log = self.schedule.gather(self._log_betas, t, var_values)
        min_log = self.schedule.gather(self.schedule.posterior_log_variance_clipped, t, var_values)
        return frac * max_log + (1 - frac) * min_log

    # -- losses ------------------------------------------------------------------------------------

    def _vb_bits(
        self,
        x0: torch.Tensor,
        x_t: torch.Tensor,
        t: torch.Tensor,
        mean_out: torch.Tensor,
        var_out: torch.Tensor,
    ) -> torch.Tensor:
        """L_t in bits per dimension, ``[B]``: KL(q(x_{t-1}|x_t,x_0) || p(x_{t-1}|x_t)) for t > 0 and
        the decoder NLL -log p(x_0|x_1) for t = 0."""
        sched = self.schedule
        true_mean = sched.posterior_mean(x0, x_t, t)
        true_log_var = sched.gather(sched.posterior_log_variance_clipped, t, x_t)
        x0_pred = x0_from_output(mean_out, x_t, sched.alpha_bar(t, x_t), self.prediction)
        model_mean = sched.posterior_mean(x0_pred, x_t, t)
        model_log_var = self.model_log_variance(var_out, t)
        kl = _mean_flat(normal_kl(true_mean, true_log_var, model_mean, model_log_var)) / math.log(2.0)
        nll = -_mean_flat(
            discretized_gaussian_log_likelihood(x0, model_mean, 0.5 * model_log_var)
        ) / math.log(2.0)
        return torch.where(t.to(kl.device) == 0, nll, kl)

    def min_snr_weight(self, t: torch.Tensor) -> torch.Tensor:
        """Min-SNR-gamma loss weight (Hang et al. 2023): the x0-space weight min(SNR, gamma), expressed
        for this prediction type. It stops the many low-noise timesteps from dominating training, which
        makes small models converge several times faster."""
        ab = self.schedule.alphas_cumprod.to(t.device)[t]
        snr = ab / (1 - ab)
        clipped = snr.clamp(max=self.min_snr_gamma)
        if self.prediction == "epsilon":
            return clipped / snr
        if self.prediction == "v":
            return clipped / (snr + 1)
        return clipped

    def v_weight(self, t: torch.Tensor) -> torch.Tensor:
        """The loss weight of v-prediction (Salimans & Ho 2022), SNR + 1 in x0 terms, relative to this
        prediction type's plain MSE and capped at ``v_weight_cap``. For epsilon prediction it is
        (SNR + 1) / SNR: plain epsilon MSE weights the x0 error by SNR, almost nothing at high noise,
        where the decoder decides the picture's layout; this weight keeps a floor of 1 there."""
        ab = self.schedule.alphas_cumprod.to(t.device)[t]
        snr = ab / (1 - ab)
        plain = {"epsilon": snr, "v": snr + 1, "x0": torch.ones_like(snr)}[self.prediction]
        return ((snr + 1) / plain).clamp(max=self.v_weight_cap)

    def training_losses(
        self,
        model_fn: ModelFn,
        x0: torch.Tensor,
        t: torch.Tensor,
        noise: torch.Tensor | None = None,
    ) -> dict[str, torch.Tensor]:
        """Per-sample losses ``[B]``: ``loss``, ``mse`` and, with a learned variance, ``vb``
        (``loss = mse + vb``). ``model_fn(x_t, t)`` gets the training timestep (long ``[B]``)."""
        if t.ndim != 1 or t.shape[0] != x0.shape[0]:
            raise ValueError(f"t must have shape [{x0.shape[0]}], got {tuple(t.shape)}")
        # Range check on the CPU only: on an accelerator it would force a sync every step (and an
        # out-of-range index fails there anyway).
        if t.device.type == "cpu" and (bool((t < 0).any()) or bool((t >= self.num_timesteps).any())):
            raise ValueError(f"timesteps must lie in [0, {self.num_timesteps - 1}]")
        if noise is None:
            noise = torch.randn_like(x0)
        x_t = self.schedule.q_sample(x0, t, noise)
        model_out = model_fn(x_t, t)
        mean_out, var_out = split_output(model_out, x_t, self.learned_variance)

        x0_f, noise_f, x_t_f = _at_least_float32(x0), _at_least_float32(noise), _at_least_float32(x_t)
        mean_f = _at_least_float32(mean_out)
        mse = _mean_flat((self.target(x0_f, noise_f, t) - mean_f) ** 2)
        if self.min_snr_gamma > 0:
            mse = mse * self.min_snr_weight(t).to(mse)
        elif self.v_weight_cap > 0:
            mse = mse * self.v_weight(t).to(mse)
        terms = {"mse": mse}
        if var_out is not None:
            vb_bits = self._vb_bits(x0_f, x_t_f, t, mean_f.detach(), _at_least_float32(var_out))
            terms["vb"] = self.vb_weight * self.num_timesteps * vb_bits
            terms["loss"] = mse + terms["vb"]
        else:
            terms["loss"] = mse
        return terms
