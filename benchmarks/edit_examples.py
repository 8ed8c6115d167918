"""The picture in docs/EDITING.md: the default model's edits of the benchmark photos (centre box
erased, refilled with the photo's own caption), with the fill's image embedding from the prompt alone
(context weight 0) and halfway toward the kept picture (0.5, the model's default), trained and
zero-shot. Columns: original, erased area, trained 0, trained 0.5, zero-shot 0.5.

    python benchmarks/edit_examples.py [--model DIR] [--out docs/images/edit-examples.png] [--seed 0]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import torch
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent))
from edit_quality import PHOTOS, alpha_mask, measurement_policy, photo

COLUMNS = [("trained", 0.0), ("trained", 0.5), ("zero-shot", 0.5)]


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", default=None, help="model directory (default: the embedded default model)")
    p.add_argument("--out", default="docs/images/edit-examples.png")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--size", type=int, default=256)
    args = p.parse_args(argv)

    from unclip.pipeline.editing.quality import fixed_masks
    from unclip.pipeline.unclip_pipeline import UnCLIP, default_model_path

    pipe = UnCLIP.from_pretrained(
        args.model or default_model_path(), dtype=torch.float32, policy=measurement_policy()
    )
    region = fixed_masks(args.size)["centre_box"]
    rows = []
    for name, caption in PHOTOS.items():
        image = photo(name, args.size)
        erased = np.asarray(image).copy()
        erased[region] = (erased[region] // 4 + 96).clip(0, 255)  # the hole, shown dimmed
        row = [np.asarray(image), erased]
        for method, weight in COLUMNS:
            out = pipe.edit(
                image,
                alpha_mask(region),
                caption,
                size=args.size,
                seed=args.seed,
                method=method,
                context_weight=weight,
            )[0]
            row.append(np.asarray(out))
        rows.append(np.concatenate(row, 1))
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    grid = Image.fromarray(np.concatenate(rows, 0))
    grid.resize((grid.width // 2, grid.height // 2), Image.LANCZOS).save(args.out, optimize=True)
    print(args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
