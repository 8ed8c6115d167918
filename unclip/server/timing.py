"""What an image costs on this server: model seconds per image by size, measured from the jobs it ran,
and the size the editor should start at, from the device the model runs on. Reported by `/health`."""

from __future__ import annotations

import threading

SIZES = (256, 512, 1024)
SMOOTHING = 0.3  # weight of the newest job in the running average


def recommended_size(device: str | None, max_size: int) -> int:
    """An accelerator makes the largest size in seconds; a CPU takes several times longer per image at
    1024 px than at 256 px (docs/DEFAULT_MODEL.md), so a CPU server starts at 256."""
    sizes = [s for s in SIZES if s <= max_size] or [max_size]
    on_cpu = device is None or str(device).split(":")[0] == "cpu"
    return sizes[0] if on_cpu else sizes[-1]


class SizeTimes:
    """Model seconds per image for each size, a running average over the jobs this server ran (any kind:
    generations, edits and variations cost about the same per image). Thread-safe: the model worker writes,
    requests read."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._seconds: dict[int, float] = {}
        self._jobs: dict[int, int] = {}

    def record(self, size: int, images: int, seconds: float) -> None:
        if images <= 0 or seconds < 0:
            return
        per_image = seconds / images
        with self._lock:
            old = self._seconds.get(size)
            self._seconds[size] = per_image if old is None else (1 - SMOOTHING) * old + SMOOTHING * per_image
            self._jobs[size] = self._jobs.get(size, 0) + 1

    def report(self, max_size: int) -> dict[str, dict[str, float | int | None]]:
        """{"256": {"seconds_per_image": 2.1, "jobs": 3}, "1024": {"seconds_per_image": None, "jobs": 0}}"""
        with self._lock:
            return {
                str(s): {
                    "seconds_per_image": None if s not in self._seconds else round(self._seconds[s], 2),
                    "jobs": self._jobs.get(s, 0),
                }
                for s in SIZES
                if s <= max_size
            }
