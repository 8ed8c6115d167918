"""Conversions between what a network predicts (epsilon, x0 or v) and x0 / epsilon.

With a = alpha_bar_t, x_t = sqrt(a) x0 + sqrt(1 - a) eps and v = sqrt(a) eps - sqrt(1 - a) x0
(Salimans & Ho, 2022). ``alpha_bar`` may be a Python float (samplers: one timestep for the whole batch)
or a tensor that broadcasts against ``x_t`` (training: one timestep per sample).
"""

from __future__ import annotations

from typing import Literal

import torch

Prediction = Literal["epsilon", "x0", "v"]
PREDICTIONS: tuple[Prediction, ...] = ("epsilon", "x0", "v")

# Names used by diffusers configs, accepted so converted configs can be passed through unchanged.
_ALIASES = {"sample": "x0", "v_prediction": "v"}

AlphaBar = float | torch.Tensor


def check_prediction(prediction: str) -> Prediction:
    """Validate a prediction name, mapping the diffusers aliases ``sample`` and ``v_prediction``."""
    name = _ALIASES.get(prediction, prediction)
    if name not in PREDICTIONS:
        raise ValueError(f"unknown prediction {prediction!r}; expected one of {list(PREDICTIONS)}")
    return name  # narrowed to a Prediction by the check above


def split_output(
    model_output: torch.Tensor, x: torch.Tensor, learned_variance: bool
) -> tuple[torch.Tensor, torch.Tensor | None]:
    """Split a raw network output into (mean parameterization, variance values or None).

    With a learned variance the network returns 2C channels (dim 1): the prediction, then the
    per-element interpolation values v in roughly [-1, 1].
    """
    channels = x.shape[1]
    expected = 2 * channels if learned_variance else channels
    if (
        model_output.ndim != x.ndim
        or model_output.shape[0] != x.shape[0]
        or model_output.shape[1] != expected
        or model_output.shape[2:] != x.shape[2:]
    ):
        what = "2C (learned variance)" if learned_variance else "C"
        raise ValueError(
            f"model output has shape {tuple(model_output.shape)}, expected {what} channels for an input "
            f"of shape {tuple(x.shape)}"
        )
    if not learned_variance:
        return model_output, None
    mean_out, var_out = torch.split(model_output, channels, dim=1)
    return mean_out, var_out


def x0_from_output(
    out: torch.Tensor, x_t: torch.Tensor, alpha_bar: AlphaBar, prediction: Prediction
) -> torch.Tensor:
    """The predicted clean sample."""
    if prediction == "x0":
        return out
    if prediction == "epsilon":
        return (x_t - (1 - alpha_bar) ** 0.5 * out) / alpha_bar**0.5
    if prediction == "v":
        return alpha_bar**0.5 * x_t - (1 - alpha_bar) ** 0.5 * out
    raise ValueError(f"unknown prediction {prediction!r}")


def eps_from_x0(x0: torch.Tensor, x_t: torch.Tensor, alpha_bar: AlphaBar) -> torch.Tensor:
    """The noise implied by a clean-sample estimate (undefined at alpha_bar = 1)."""
    return (x_t - alpha_bar**0.5 * x0) / (1 - alpha_bar) ** 0.5


def eps_from_output(
    out: torch.Tensor, x_t: torch.Tensor, alpha_bar: AlphaBar, prediction: Prediction
) -> torch.Tensor:
    """The predicted noise."""
    if prediction == "epsilon":
        return out
    if prediction == "x0":
        return eps_from_x0(out, x_t, alpha_bar)
    if prediction == "v":
        return (1 - alpha_bar) ** 0.5 * x_t + alpha_bar**0.5 * out
    raise ValueError(f"unknown prediction {prediction!r}")


def output_from_x0_eps(
    x0: torch.Tensor, eps: torch.Tensor, alpha_bar: AlphaBar, prediction: Prediction
) -> torch.Tensor:
    """What a network of the given prediction type should output for this (x0, eps) pair.

    This is also the training target (``GaussianDiffusion``) and is handy for guidance code that
    edits x0 or eps and must hand back a raw output.
    """
    if prediction == "epsilon":
        return eps
    if prediction == "x0":
        return x0
    if prediction == "v":
        return alpha_bar**0.5 * eps - (1 - alpha_bar) ** 0.5 * x0
    raise ValueError(f"unknown prediction {prediction!r}")


def clip_x0(x0: torch.Tensor, clip_range: float | None) -> torch.Tensor:
    """Clamp an x0 estimate to ``[-clip_range, clip_range]``; ``None`` leaves it unchanged."""
    if clip_range is None:
        return x0
    return x0.clamp(-clip_range, clip_range)
