"""The pictures in docs/EDITING.md, drawn by the default model from the benchmark photos.

Edits (`--out`): the centre box erased and refilled with the photo's own caption, with the fill's
image embedding from the prompt alone (context weight 0) and halfway toward the kept picture (0.5, the
model's default), trained and zero-shot. Columns: original, erased area, trained 0, trained 0.5,
zero-shot 0.5.

Variations (`--vary-out`): two from pure noise (keep 0, the paper's) and two starting from the photo
noised 70% of the way (keep 0.3, the default model's `vary_keep`). Columns: original, keep 0, keep 0,
keep 0.3, keep 0.3.

    python benchmarks/edit_examples.py [--model DIR] [--out docs/images/edit-examples.png]
        [--vary-out docs/images/vary-examples.png] [--seed 0]
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
KEEPS = (0.0, 0.3)


def edit_rows(pipe, size: int, seed: int) -> list[np.ndarray]:  # type: ignore[no-untyped-def]
    from unclip.pipeline.editing.quality import fixed_masks

    region = fixed_masks(size)["centre_box"]
    rows = []
    for name, caption in PHOTOS.items():
        image = photo(name, size)
        erased = np.asarray(image).copy()
        erased[region] = (erased[region] // 4 + 96).clip(0, 255)  # the hole, shown dimmed
        row = [np.asarray(image), erased]
        for method, weight in COLUMNS:
            out = pipe.edit(
                image, alpha_mask(region), caption, size=size, seed=seed, method=method, context_weight=weight
            )[0]
            row.append(np.asarray(out))
        rows.append(np.concatenate(row, 1))
    return rows


def vary_rows(pipe, size: int, seed: int) -> list[np.ndarray]:  # type: ignore[no-untyped-def]
    rows = []
    for name in PHOTOS:
        image = photo(name, size)
        row = [np.asarray(image)]
        for keep in KEEPS:
            row += [np.asarray(v) for v in pipe.vary(image, n=2, size=size, seed=seed, keep=keep)]
        rows.append(np.concatenate(row, 1))
    return rows


def save_grid(rows: list[np.ndarray], path: str) -> None:
    """Rows stacked, at half size."""
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    grid = Image.fromarray(np.concatenate(rows, 0))
    grid.resize((grid.width // 2, grid.height // 2), Image.LANCZOS).save(path, optimize=True)
    print(path)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", default=None, help="model directory (default: the embedded default model)")
    p.add_argument("--out", default="docs/images/edit-examples.png", help="the edits picture ('' to skip)")
    p.add_argument(
        "--vary-out", default="docs/images/vary-examples.png", help="the variations picture ('' to skip)"
    )
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--size", type=int, default=256)
    args = p.parse_args(argv)

    from unclip.cascade.loading import default_model_path
    from unclip.pipeline.unclip_pipeline import UnCLIP

    pipe = UnCLIP.from_pretrained(
        args.model or default_model_path(), dtype=torch.float32, policy=measurement_policy()
    )
    if args.out:
        save_grid(edit_rows(pipe, args.size, args.seed), args.out)
    if args.vary_out:
        save_grid(vary_rows(pipe, args.size, args.seed), args.vary_out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
