"""What every sampler shares: the timestep list, output splitting, x0/eps recovery and clipping."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence

import torch

from unclip.errors import InputError

from .parameterization import (
    Prediction,
    check_prediction,
    clip_x0,
    eps_from_output,
    eps_from_x0,
    split_output,
    x0_from_output,
)
from .schedule import NoiseSchedule
from .timesteps import check_timesteps


def randn(
    shape: tuple[int, ...],
    generator: torch.Generator | None,
    device: torch.device | str | None = None,
    dtype: torch.dtype = torch.float32,
) -> torch.Tensor:
    """Standard normal noise on `device`, drawn on the generator's own device when that differs (a CPU
    generator gives the same noise for CUDA and MPS runs; MPS cannot use a CPU generator directly)."""
    device = torch.device(device) if device is not None else torch.device("cpu")
    if generator is None or generator.device.type == device.type:
        return torch.randn(shape, generator=generator, device=device, dtype=dtype)
    return torch.randn(shape, generator=generator, device=generator.device, dtype=dtype).to(device)


def randn_for(x: torch.Tensor, generator: torch.Generator | None) -> torch.Tensor:
    """Standard normal noise shaped like ``x``, in its dtype and on its device.

    Drawn with ``torch.randn(x.shape, generator=..., device=x.device, dtype=x.dtype)``; a generator on
    another device (typically a CPU generator for device-independent seeds) draws there and the
    noise is moved.
    """
    if generator is None or generator.device.type == x.device.type:
        return torch.randn(x.shape, generator=generator, device=x.device, dtype=x.dtype)
    return torch.randn(x.shape, generator=generator, device=generator.device, dtype=x.dtype).to(x.device)


class Sampler(ABC):
    """One reverse-process solver over a fixed, strictly descending list of training timesteps.

    ``step(model_output, i, x, generator)`` takes x at ``timesteps[i]`` and the raw network output
    there and returns x at ``timesteps[i + 1]``, or the final clean sample after the last step.
    ``model_output`` is in the configured ``prediction`` type with the C variance channels appended
    when ``learned_variance``. Stateful samplers (multistep) forget their history in ``reset()``.
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
        if clip_range is not None and not clip_range > 0:
            raise InputError(f"clip_range must be positive or None, got {clip_range}")
        self.schedule = schedule
        self.timesteps: list[int] = check_timesteps(list(timesteps), schedule.num_timesteps)
        self.prediction = check_prediction(prediction)
        self.learned_variance = learned_variance
        self.clip_range = clip_range

    def __len__(self) -> int:
        return len(self.timesteps)

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(steps={len(self.timesteps)}, prediction={self.prediction!r}, "
            f"learned_variance={self.learned_variance}, clip_range={self.clip_range})"
        )

    def reset(self) -> None:
        """Forget any state carried between steps (nothing, unless a subclass keeps history)."""

    def prev_timestep(self, i: int) -> int:
        """The timestep step ``i`` lands on: ``timesteps[i + 1]``, or -1 (clean data) after the last."""
        self._check_index(i)
        return self.timesteps[i + 1] if i + 1 < len(self.timesteps) else -1

    def _check_index(self, i: int) -> None:
        if not 0 <= i < len(self.timesteps):
            raise IndexError(f"step index {i} is outside [0, {len(self.timesteps) - 1}]")

    def denoise(
        self, model_output: torch.Tensor, i: int, x: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]:
        """(x0 estimate, matching eps estimate, variance channels or None) at ``timesteps[i]``.

        x0 is clipped to ``clip_range``; eps is then recomputed from the clipped x0 so that the pair
        stays consistent with x (as in DDIM), otherwise taken straight from the output.
        """
        self._check_index(i)
        mean_out, var_out = split_output(model_output, x, self.learned_variance)
        ab = self.schedule.alpha_bar_at(self.timesteps[i])
        x0 = x0_from_output(mean_out, x, ab, self.prediction)
        if self.clip_range is None:
            eps = eps_from_output(mean_out, x, ab, self.prediction)
        else:
            x0 = clip_x0(x0, self.clip_range)
            eps = eps_from_x0(x0, x, ab)
        return x0, eps, var_out

    def step(
        self,
        model_output: torch.Tensor,
        i: int,
        x: torch.Tensor,
        generator: torch.Generator | None = None,
    ) -> torch.Tensor:
        """x at ``timesteps[i + 1]`` (or the final sample) from x at ``timesteps[i]``, in x's dtype
        (a network may answer in another precision, e.g. float32 under autocast)."""
        self._check_index(i)
        return self._step(model_output, i, x, generator).to(x.dtype)

    @abstractmethod
    def _step(
        self,
        model_output: torch.Tensor,
        i: int,
        x: torch.Tensor,
        generator: torch.Generator | None,
    ) -> torch.Tensor:
        """The update itself; ``i`` is already checked."""
