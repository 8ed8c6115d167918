"""The inpainting networks' input (GLIDE): the 4 extra channels, built here and nowhere else, and the
random edit regions the networks are trained with.

An inpainting decoder or upsampler (`config.inpainting`) takes, besides its usual input, the image with
the edit region zeroed (3 channels) and the keep mask (1 channel, 1 = known pixel). Training
(`unclip.training.stages`) and editing (`unclip.pipeline.editing.inpaint`) both build that input with
`inpaint_input`, so what a network is trained on is what it sees when it edits.
"""

from __future__ import annotations

import math

import torch


def inpaint_input(image: torch.Tensor, keep: torch.Tensor) -> torch.Tensor:
    """The 4 extra input channels [..., 4, H, W]: `image` ([..., 3, H, W]) with the unknown pixels zeroed,
    then the keep mask. `keep` (bool, True = known): [H, W], or [..., 1, H, W] broadcastable to the image."""
    keep = keep.to(image.dtype)
    if keep.dim() == 2:
        keep = keep[None]
    keep = keep.expand(*image.shape[:-3], 1, *image.shape[-2:])
    return torch.cat([image * keep, keep], dim=-3)


def _rand(generator: torch.Generator | None, lo: float = 0.0, hi: float = 1.0) -> float:
    return lo + (hi - lo) * float(torch.rand((), generator=generator))


def _randint(generator: torch.Generator | None, lo: int, hi: int) -> int:
    """Uniform integer in [lo, hi] (inclusive)."""
    return int(torch.randint(lo, hi + 1, (), generator=generator))


def _box(h: int, w: int, g: torch.Generator | None) -> torch.Tensor:
    mask = torch.zeros(h, w, dtype=torch.bool)
    for _ in range(_randint(g, 1, 3)):
        bh, bw = max(1, round(h * _rand(g, 0.1, 0.6))), max(1, round(w * _rand(g, 0.1, 0.6)))
        top, left = _randint(g, 0, h - bh), _randint(g, 0, w - bw)
        mask[top : top + bh, left : left + bw] = True
    return mask


def _strokes(h: int, w: int, g: torch.Generator | None) -> torch.Tensor:
    """1-4 brush strokes: random walks of 3-9 segments, drawn as thick lines with round ends."""
    ys = torch.arange(h, dtype=torch.float32)[:, None]
    xs = torch.arange(w, dtype=torch.float32)[None, :]
    mask = torch.zeros(h, w, dtype=torch.bool)
    side = min(h, w)
    for _ in range(_randint(g, 1, 4)):
        radius = side * _rand(g, 0.02, 0.08)
        y, x = _rand(g, 0, h - 1), _rand(g, 0, w - 1)
        angle = _rand(g, 0, 2 * math.pi)
        for _ in range(_randint(g, 3, 9)):
            angle += _rand(g, -1.2, 1.2)
            length = side * _rand(g, 0.05, 0.25)
            y2 = min(max(y + length * math.sin(angle), 0.0), h - 1.0)
            x2 = min(max(x + length * math.cos(angle), 0.0), w - 1.0)
            dy, dx = y2 - y, x2 - x
            seg2 = dy * dy + dx * dx
            s = ((ys - y) * dy + (xs - x) * dx) / seg2 if seg2 > 0 else torch.zeros(1, 1)
            s = s.clamp(0, 1)
            dist2 = (ys - (y + s * dy)) ** 2 + (xs - (x + s * dx)) ** 2
            mask |= dist2 <= radius * radius
            y, x = y2, x2
    return mask


def _border(h: int, w: int, g: torch.Generator | None) -> torch.Tensor:
    """Outpainting: 1-4 sides cleared by 10-50% each, or all but an inner rectangle (uncropping)."""
    mask = torch.zeros(h, w, dtype=torch.bool)
    if _rand(g) < 0.3:
        ih, iw = max(1, round(h * _rand(g, 0.3, 0.8))), max(1, round(w * _rand(g, 0.3, 0.8)))
        top, left = _randint(g, 0, h - ih), _randint(g, 0, w - iw)
        mask[:] = True
        mask[top : top + ih, left : left + iw] = False
        return mask
    sides = [i for i in range(4) if _rand(g) < 0.4] or [_randint(g, 0, 3)]
    for side in sides:
        frac = _rand(g, 0.1, 0.5)
        n = max(1, round((h if side < 2 else w) * frac))
        if side == 0:
            mask[:n] = True
        elif side == 1:
            mask[h - n :] = True
        elif side == 2:
            mask[:, :n] = True
        else:
            mask[:, w - n :] = True
    return mask


TRAINING_MASK_KINDS = {"box": _box, "strokes": _strokes, "border": _border}
DEFAULT_MASK_WEIGHTS = {"box": 0.35, "strokes": 0.35, "border": 0.25, "full": 0.05}


def random_training_mask(
    h: int,
    w: int,
    generator: torch.Generator | None = None,
    weights: dict[str, float] | None = None,
) -> torch.BoolTensor:
    """A random edit region [h, w] (True = region to repaint) for GLIDE-style inpainting fine-tuning.

    Kinds, drawn with `weights` (default `DEFAULT_MASK_WEIGHTS`): "box" (1-3 rectangles of 10-60% of
    each side), "strokes" (1-4 free-form brush strokes), "border" (outpainting: sides cleared, or all but
    an inner rectangle), "full" (everything: keeps plain text-to-image ability). Never empty;
    deterministic for a seeded CPU `generator`.
    """
    weights = weights or DEFAULT_MASK_WEIGHTS
    unknown = set(weights) - set(TRAINING_MASK_KINDS) - {"full"}
    if unknown:
        raise ValueError(f"unknown mask kind(s) {sorted(unknown)}; kinds: box, strokes, border, full")
    if h < 1 or w < 1:
        raise ValueError(f"mask size must be positive, got {h}x{w}")
    names = list(weights)
    probs = torch.tensor([float(weights[n]) for n in names])
    kind = names[int(torch.multinomial(probs, 1, generator=generator))]
    if kind == "full":
        return torch.ones(h, w, dtype=torch.bool)  # type: ignore[return-value]
    mask = TRAINING_MASK_KINDS[kind](h, w, generator)
    if not mask.any():
        mask[_randint(generator, 0, h - 1), _randint(generator, 0, w - 1)] = True
    return mask  # type: ignore[return-value]
