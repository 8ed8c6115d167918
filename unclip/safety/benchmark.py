"""Time the checks: ``python -m unclip.safety.benchmark`` (prompt and 1024 px image checks, CPU).

Reports wall time and process CPU time (the latter is steadier on a shared machine). Images are
skimage's astronaut (a face) and coffee resized to 1024x1024; without scikit-image, random noise.
"""

from __future__ import annotations

import argparse
import functools
import statistics
import time
from collections.abc import Callable

import numpy as np
from PIL import Image

from unclip.safety.evaluate import load_set
from unclip.safety.policy import Policy


def _time(fn: Callable[[], object], repeat: int) -> tuple[float, float]:
    """Median wall and median CPU milliseconds of ``repeat`` calls (after one warm-up)."""
    fn()
    walls, cpus = [], []
    for _ in range(repeat):
        w, c = time.perf_counter(), time.process_time()
        fn()
        walls.append(time.perf_counter() - w)
        cpus.append(time.process_time() - c)
    return statistics.median(walls) * 1000, statistics.median(cpus) * 1000


def sample_images(size: int = 1024) -> dict[str, Image.Image]:
    try:
        from skimage import data

        arrays = {"astronaut (face)": data.astronaut(), "coffee": data.coffee()}
    except ImportError:
        arrays = {"noise": np.random.default_rng(0).integers(0, 256, (size, size, 3), dtype=np.uint8)}
    return {k: Image.fromarray(v).resize((size, size), Image.Resampling.BICUBIC) for k, v in arrays.items()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--size", type=int, default=1024)
    args = parser.parse_args(argv)
    policy = Policy.default()
    prompts = [e.prompt for e in load_set("dev")]
    start = time.perf_counter()
    policy.check_prompt("warm-up")
    print(
        f"first prompt check (loads term lists + classifier): {(time.perf_counter() - start) * 1000:.0f} ms"
    )
    per_prompt = []
    for prompt in prompts:
        w = time.perf_counter()
        policy.check_prompt(prompt)
        per_prompt.append((time.perf_counter() - w) * 1000)
    per_prompt.sort()
    print(
        f"prompt check over {len(prompts)} prompts: median {statistics.median(per_prompt):.2f} ms, "
        f"p95 {per_prompt[int(0.95 * len(per_prompt))]:.2f} ms, max {per_prompt[-1]:.2f} ms"
    )
    print(f"image checks at {args.size}x{args.size} ({policy.status()}):")
    for name, image in sample_images(args.size).items():
        for kind in ("upload", "output"):
            wall, cpu = _time(functools.partial(policy.check_image, image, kind), args.repeat)
            print(f"  {name:18s} {kind:6s}: median wall {wall:6.1f} ms, cpu {cpu:6.1f} ms")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
