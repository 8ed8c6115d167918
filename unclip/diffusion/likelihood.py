"""Elementwise Gaussian KL and the discretized Gaussian likelihood of 8-bit data (in nats)."""

from __future__ import annotations

import torch

# Data in [-1, 1] quantized to 256 levels: bins of width 2/255 centred on the levels.
_HALF_BIN = 1.0 / 255.0
_EDGE = 0.999  # values beyond this are the outermost level; its bin extends to infinity
_MIN_PROB = 1e-12


def normal_kl(
    mean1: torch.Tensor, logvar1: torch.Tensor, mean2: torch.Tensor, logvar2: torch.Tensor
) -> torch.Tensor:
    """KL( N(mean1, exp(logvar1)) || N(mean2, exp(logvar2)) ), elementwise."""
    return 0.5 * (
        logvar2 - logvar1 + torch.exp(logvar1 - logvar2) + (mean1 - mean2) ** 2 * torch.exp(-logvar2) - 1.0
    )


def discretized_gaussian_log_likelihood(
    x: torch.Tensor, mean: torch.Tensor, log_scale: torch.Tensor
) -> torch.Tensor:
    """log P(x) per element, where x in [-1, 1] is 8-bit data and the model is N(mean, exp(log_scale)^2)
    integrated over x's quantization bin (the edge bins reach to -inf / +inf).

    Bin masses are taken from whichever tail is smaller, so they do not cancel to 0 far from the mean.
    """
    inv_std = torch.exp(-log_scale)
    centered = x - mean
    z_upper = inv_std * (centered + _HALF_BIN)
    z_lower = inv_std * (centered - _HALF_BIN)
    ndtr = torch.special.ndtr
    log_below_upper = torch.log(ndtr(z_upper).clamp(min=_MIN_PROB))
    log_above_lower = torch.log(ndtr(-z_lower).clamp(min=_MIN_PROB))
    bin_mass = torch.where(centered > 0, ndtr(-z_lower) - ndtr(-z_upper), ndtr(z_upper) - ndtr(z_lower))
    log_bin = torch.log(bin_mass.clamp(min=_MIN_PROB))
    return torch.where(x < -_EDGE, log_below_upper, torch.where(x > _EDGE, log_above_lower, log_bin))
