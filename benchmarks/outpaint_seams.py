"""Outpainting tile seams: is the border between two generated frames visible?

Each benchmark photo (scikit-image's astronaut, chelsea, coffee, at `--size` px) is extended by
`--margin` px on the left and right with frames of `--size` px, so each side takes two frames: the
first overlaps the photo, the second overlaps the first. Along each vertical line we compare the
mean absolute RGB difference of the horizontal neighbour pairs that straddle the line with the same
mean over the `--band` px on either side (ratio ~1: the line is no sharper than the texture around
it; 2+: a visible edge). Lines:

  tile     - where a later frame's new pixels meet an earlier frame's (the seams this measures);
  picture  - where generated pixels meet the original photo (the inpainting seam, for reference);
  interior - the middle of each frame's new pixels (no border at all: the baseline).

Also the colour gap (`quality.colour_gap`: W1 distance, 0-255, between the colours of all generated
pixels and of the photo's 16 px band next to them): how well the extension keeps the photo's colours.

    python benchmarks/outpaint_seams.py [--model DIR] [--size 256] [--margin 384] [--seeds 2]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from statistics import mean

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from edit_quality import PHOTOS, measurement_policy, photo


def line_ratio(image: np.ndarray, x: int, band: int) -> float:
    """Straddling-pair difference at column x over the mean pair difference within `band` px of it."""
    img = image.astype(np.float32)
    dx = np.abs(img[:, 1:] - img[:, :-1]).mean(-1)  # dx[:, j] is the pair (j, j + 1)
    cross = dx[:, x - 1].mean()
    ref = np.concatenate(
        [dx[:, j] for j in range(max(x - 1 - band, 0), min(x - 1 + band, dx.shape[1])) if j != x - 1]
    )
    return float(cross / max(ref.mean(), 1.0))


def lines(known: np.ndarray, frames: list[tuple[int, int]], size: int) -> dict[str, list[int]]:
    """Column positions of tile borders, picture borders and frame interiors (horizontal margins)."""
    origin = known[0].copy()  # the photo's columns (full height)
    filled = origin.copy()
    out: dict[str, list[int]] = {"tile": [], "picture": [], "interior": []}
    for x, _ in frames:
        cols = np.arange(max(x, 0), min(x + size, filled.size))
        new = cols[~filled[cols]]
        a, b = int(new.min()), int(new.max()) + 1  # new pixels: columns [a, b)
        for edge, inside in ((a, a - 1), (b, b)):
            if 0 < edge < filled.size and filled[inside]:
                out["picture" if origin[inside] else "tile"].append(edge)
        out["interior"].append((a + b) // 2)
        filled[a:b] = True
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", default=None, help="model directory (default: the embedded default model)")
    p.add_argument("--size", type=int, default=256, help="photo side and frame size (px)")
    p.add_argument("--margin", type=int, default=384, help="px added on the left and on the right")
    p.add_argument("--seeds", type=int, default=2)
    p.add_argument("--band", type=int, default=8)
    p.add_argument("--method", default="auto")
    p.add_argument(
        "--overlap", type=int, default=None, help="frame overlap in px (default: the library's, size/4)"
    )
    p.add_argument("--threads", type=int, default=None)
    args = p.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)

    from unclip.cascade.loading import default_model_path
    from unclip.pipeline.editing.outpaint import plan_outpaint
    from unclip.pipeline.editing.quality import colour_gap
    from unclip.pipeline.unclip_pipeline import UnCLIP

    pipe = UnCLIP.from_pretrained(
        args.model or default_model_path(), dtype=torch.float32, policy=measurement_policy()
    )
    ratios: dict[str, list[float]] = {"tile": [], "picture": [], "interior": []}
    gaps: list[float] = []
    for name in PHOTOS:
        image = photo(name, args.size)
        plan = plan_outpaint(image, left=args.margin, right=args.margin, size=args.size, overlap=args.overlap)
        where = lines(plan.known, plan.frames, args.size)
        for seed in range(args.seeds):
            t = time.time()
            out = pipe.outpaint(
                image,
                left=args.margin,
                right=args.margin,
                size=args.size,
                seed=seed,
                method=args.method,
                overlap=args.overlap,
            )[0]
            arr = np.asarray(out)
            row = {kind: [line_ratio(arr, x, args.band) for x in xs] for kind, xs in where.items()}
            for kind, values in row.items():
                ratios[kind] += values
            gaps.append(colour_gap(arr, ~plan.known))
            print(
                f"{name:10s} seed {seed}: "
                + "  ".join(f"{k} {' '.join(f'{v:.2f}' for v in vs)}" for k, vs in row.items())
                + f"  colour gap {gaps[-1]:.1f}  ({len(plan.frames)} frames, {time.time() - t:.1f} s)",
                flush=True,
            )
    print(f"mean line ratio ({args.size} px frames, {args.margin} px margins, band {args.band} px):")
    for kind, values in ratios.items():
        print(f"  {kind:9s} {mean(values):.2f}  (n={len(values)}, max {max(values):.2f})")
    print(f"mean colour gap of the generated pixels against the photo's edge: {mean(gaps):.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
