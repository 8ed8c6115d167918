"""The diffusion settings a stage was trained with, stored in its config."""

from __future__ import annotations

from dataclasses import dataclass

from unclip.utils.config import Config


@dataclass
class DiffusionConfig(Config):
    """How a stage was trained to denoise; samplers must use the same settings."""

    schedule: str = "cosine"  # "cosine" | "linear"
    num_timesteps: int = 1000
    prediction: str = "epsilon"  # "epsilon" | "x0" | "v"
    learned_variance: bool = False
    clip_range: float | None = 1.0  # clamp predicted x0 to +-this while sampling (None: no clamp)

    def __post_init__(self) -> None:
        if self.schedule not in ("cosine", "linear"):
            raise ValueError(f"schedule must be 'cosine' or 'linear', got {self.schedule!r}")
        if self.prediction not in ("epsilon", "x0", "v"):
            raise ValueError(f"prediction must be 'epsilon', 'x0' or 'v', got {self.prediction!r}")
