"""Watching the cascade sample: each stage reports its steps (and, for image stages, its current
clean-image estimate) to the listener installed with `listening`.

A context variable, not a parameter: generation and every editing function reach the stage
functions by different paths, and all of them report without passing a listener down. A listener may
raise (e.g. `Stopped`) to stop the sampling at a step; watching alone never changes the result (the
estimate draws no random numbers).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass

import torch

from unclip.diffusion.samplers import Watch


@dataclass(frozen=True)
class StageStep:
    """Step `step` (1-based) of `total` of `stage` ("prior", "decoder", "upsampler_256",
    "upsampler_1024") is done. `x0()`: the stage's current clean-image estimate [B, 3, S, S] in
    [-1, 1] (None for the prior, whose samples are embeddings, not images)."""

    stage: str
    step: int
    total: int
    x0: Callable[[], torch.Tensor] | None


Listener = Callable[[StageStep], None]

_listener: ContextVar[Listener | None] = ContextVar("unclip_stage_listener", default=None)


class Stopped(Exception):
    """Raised by a listener to stop sampling (e.g. every client of a server batch went away)."""


@contextmanager
def listening(listener: Listener | None) -> Iterator[None]:
    """Report every stage step run inside the block to `listener` (None: nothing is reported)."""
    token = _listener.set(listener)
    try:
        yield
    finally:
        _listener.reset(token)


def watcher(stage: str, total: int, image: bool = True) -> Watch | None:
    """The `watch` for `sample_loop` of one stage, or None when nobody listens."""
    listener = _listener.get()
    if listener is None:
        return None

    def watch(i: int, x0: Callable[[], torch.Tensor]) -> None:
        listener(StageStep(stage, i + 1, total, x0 if image else None))

    return watch
