"""The variations picture in docs/EDITING.md: the default model's variations of the benchmark photos,
two from pure noise (keep 0, the paper's) and two starting from the photo noised 70% of the way
(keep 0.3, the default model's `vary_keep`). Columns: original, keep 0, keep 0, keep 0.3, keep 0.3.

    python benchmarks/vary_examples.py [--model DIR] [--out docs/images/vary-examples.png] [--seed 0]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import torch
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent))
from edit_quality import PHOTOS, measurement_policy, photo

KEEPS = (0.0, 0.3)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", default=None, help="model directory (default: the embedded default model)")
    p.add_argument("--out", default="docs/images/vary-examples.png")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--size", type=int, default=256)
    args = p.parse_args(argv)

    from unclip.pipeline.unclip_pipeline import UnCLIP, default_model_path

    pipe = UnCLIP.from_pretrained(
        args.model or default_model_path(), dtype=torch.float32, policy=measurement_policy()
    )
    rows = []
    for name in PHOTOS:
        image = photo(name, args.size)
        row = [np.asarray(image)]
        for keep in KEEPS:
            row += [np.asarray(v) for v in pipe.vary(image, n=2, size=args.size, seed=args.seed, keep=keep)]
        rows.append(np.concatenate(row, 1))
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    grid = Image.fromarray(np.concatenate(rows, 0))
    grid.resize((grid.width // 2, grid.height // 2), Image.LANCZOS).save(args.out, optimize=True)
    print(args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
