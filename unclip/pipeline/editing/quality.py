"""Measures of inpainting quality that need no reference model (used by benchmarks/edit_quality.py).

- seam score: how visible the edit region's border is. Over 4-neighbour pixel pairs straddling the
  border (one kept, one edited), the mean absolute RGB difference, divided by the same mean over
  neighbour pairs that both lie in the kept ring around the region (the image's own texture there).
  About 1: the border is no sharper than the surrounding texture (invisible); 2+: a visible seam.
- colour gap: the mean over R, G, B of the 1-Wasserstein distance (0-255 units) between the colour
  distribution of the edit region and that of the kept ring. A flat fill with the ring's mean colour
  has the right mean but no spread and scores worse than content that matches the surroundings.
"""

from __future__ import annotations

import numpy as np
import torch

from unclip.models.inpainting import random_training_mask


def ring(region: np.ndarray, width: int) -> np.ndarray:
    """Kept pixels within `width` px (chessboard distance) of the edit region."""
    t = torch.from_numpy(region.astype(np.float32))[None, None]
    grown = torch.nn.functional.max_pool2d(t, 2 * width + 1, stride=1, padding=width)[0, 0].numpy() > 0
    return grown & ~region


def _pair_diffs(image: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    img = image.astype(np.float32)
    return np.abs(img[:, 1:] - img[:, :-1]).mean(-1), np.abs(img[1:] - img[:-1]).mean(-1)


def seam_score(image: np.ndarray, region: np.ndarray, width: int = 8) -> float:
    """See the module docstring. image: uint8 [H, W, 3]; region: bool [H, W] (True = edited)."""
    dx, dy = _pair_diffs(image)
    band = ring(region, width)
    cross_x = region[:, 1:] != region[:, :-1]
    cross_y = region[1:] != region[:-1]
    ref_x = band[:, 1:] & band[:, :-1]
    ref_y = band[1:] & band[:-1]
    cross = np.concatenate([dx[cross_x], dy[cross_y]])
    ref = np.concatenate([dx[ref_x], dy[ref_y]])
    if cross.size == 0 or ref.size == 0:
        return float("nan")
    return float(cross.mean() / max(ref.mean(), 1.0))


def colour_gap(image: np.ndarray, region: np.ndarray, width: int = 16) -> float:
    """See the module docstring."""
    inside = image[region].astype(np.float32)
    around = image[ring(region, width)].astype(np.float32)
    if inside.size == 0 or around.size == 0:
        return float("nan")
    q = np.linspace(0, 1, 101)
    return float(
        np.mean(
            [np.abs(np.quantile(inside[:, c], q) - np.quantile(around[:, c], q)).mean() for c in range(3)]
        )
    )


def flat_fill(image: np.ndarray, region: np.ndarray, width: int = 16) -> np.ndarray:
    """The edit region filled with the mean colour of the kept ring: the benchmark's baseline, and the
    kept picture whose CLIP embedding an edit leans toward (`inpaint.context_picture`)."""
    out = image.copy()
    out[region] = image[ring(region, width)].mean(0).round().astype(np.uint8)
    return out


def fixed_masks(size: int) -> dict[str, np.ndarray]:
    """The benchmark's masks (True = edit): a centre box, an off-centre box, brush strokes, a right
    border (outpainting) and an uncrop border; the same for every run."""
    s = size
    masks = {name: np.zeros((s, s), dtype=bool) for name in ("centre_box", "side_box")}
    masks["centre_box"][s // 4 : 3 * s // 4, s // 4 : 3 * s // 4] = True
    masks["side_box"][s // 8 : s // 2, s // 2 : 7 * s // 8] = True
    g = torch.Generator().manual_seed(1234)
    masks["strokes"] = random_training_mask(s, s, g, weights={"strokes": 1.0}).numpy()
    masks["right_border"] = np.zeros((s, s), dtype=bool)
    masks["right_border"][:, 2 * s // 3 :] = True
    masks["uncrop"] = np.ones((s, s), dtype=bool)
    masks["uncrop"][s // 5 : 4 * s // 5, s // 5 : 4 * s // 5] = False
    return masks
