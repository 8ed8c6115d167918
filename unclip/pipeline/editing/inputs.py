"""Reading and fitting input images: file loading with clear errors, a pixel-count limit against
decompression bombs, and fitting any size and aspect ratio to a square model size.

Nothing here changes PIL's process-wide `Image.MAX_IMAGE_PIXELS`; the limit is checked per image
(before decoding, from the header), and PIL's own bomb error and warning become `InputError`s.
"""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Literal

import numpy as np
from PIL import Image, UnidentifiedImageError

from unclip.errors import InputError

# Largest accepted input: 50 megapixels (e.g. 8000x6250). Below PIL's default bomb limit (~89 MP).
MAX_INPUT_PIXELS = 50_000_000
MIN_INPUT_SIDE = 8

Fit = Literal["crop", "pad"]
ImageSource = str | Path | bytes | BinaryIO | Image.Image


def check_pixels(image: Image.Image, what: str = "image") -> None:
    """InputError when an (opened, maybe not yet decoded) image is too large or too small."""
    w, h = image.size
    if w * h > MAX_INPUT_PIXELS:
        raise InputError(
            f"{what}: {w}x{h} is {w * h / 1e6:.0f} megapixels; the limit is {MAX_INPUT_PIXELS / 1e6:.0f} "
            "megapixels (resize it first)"
        )
    if min(w, h) < MIN_INPUT_SIDE:
        raise InputError(f"{what}: {w}x{h} is too small (each side must be at least {MIN_INPUT_SIDE} px)")


def load_image(source: ImageSource, what: str = "image") -> Image.Image:
    """Open and fully decode an image file, bytes or file object (or check a PIL image).

    Corrupt or truncated files, non-images and oversized images raise `InputError` naming `what`.
    """
    if isinstance(source, Image.Image):
        check_pixels(source, what)
        return source
    label = f"{what} {source}" if isinstance(source, (str, Path)) else what
    if isinstance(source, (str, Path)) and Path(source).is_dir():
        raise InputError(f"{label}: is a folder, not an image file")
    if isinstance(source, (str, Path)) and not Path(source).is_file():
        raise InputError(f"{label}: no such file")
    fp = io.BytesIO(source) if isinstance(source, bytes) else source
    try:
        with warnings.catch_warnings():
            # PIL warns above its bomb limit and raises above twice that; our own limit is lower and
            # is checked from the header, before any pixel is decoded.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            image = Image.open(fp)
        check_pixels(image, label)
        image.load()
    except Image.DecompressionBombError as e:
        raise InputError(f"{label}: refused as a possible decompression bomb ({e})") from e
    except UnidentifiedImageError as e:
        raise InputError(f"{label}: not a readable image file") from e
    except (OSError, SyntaxError, ValueError, EOFError) as e:
        raise InputError(f"{label}: corrupt or truncated image ({e})") from e
    return image


@dataclass(frozen=True)
class FitPlan:
    """How an image of `source` size becomes a `size` x `size` square.

    crop: centre-crop to a square of side `side` at (left, top), then resize.
    pad: place the image at (left, top) inside a transparent square of side `side`, then resize
    (`edit` generates the padding; CLIP sees it as white).
    """

    source: tuple[int, int]
    size: int
    mode: Fit
    side: int
    left: int
    top: int

    def describe(self) -> str:
        w, h = self.source
        if w == h:
            return (
                f"{w}x{h}, used as is" if w == self.size else f"resizing {w}x{h} to {self.size}x{self.size}"
            )
        if self.mode == "crop":
            return f"resizing {w}x{h} to {self.size}x{self.size} after centre-cropping to {self.side}x{self.side}"
        resize = f", then resizing to {self.size}x{self.size}" if self.side != self.size else ""
        return f"padding {w}x{h} to {self.side}x{self.side}{resize}"


def plan_fit(source: tuple[int, int], size: int, mode: Fit = "crop") -> FitPlan:
    if mode not in ("crop", "pad"):
        raise InputError(f"fit: must be 'crop' or 'pad', got {mode!r}")
    w, h = source
    if mode == "crop":
        side = min(w, h)
        return FitPlan(source, size, mode, side, (w - side) // 2, (h - side) // 2)
    side = max(w, h)
    return FitPlan(source, size, mode, side, (side - w) // 2, (side - h) // 2)


def apply_fit(image: Image.Image, plan: FitPlan, resample: int = Image.Resampling.LANCZOS) -> Image.Image:
    """Crop or pad `image` as `plan` says (padding is transparent black), then resize to plan.size."""
    w, h = image.size
    if (w, h) != plan.source:
        raise ValueError(f"plan is for {plan.source}, image is {image.size}")
    if plan.mode == "crop":
        square = image.crop((plan.left, plan.top, plan.left + plan.side, plan.top + plan.side))
    else:
        mode = "RGBA" if image.mode not in ("L", "LA", "1") else "LA"
        square = Image.new(mode, (plan.side, plan.side))
        square.paste(image.convert(mode), (plan.left, plan.top))
    if plan.side != plan.size:
        square = square.resize((plan.size, plan.size), resample)
    return square


def rgb_array(image: Image.Image) -> np.ndarray:
    """uint8 [H, W, 3]; transparency is composited onto white (as `unclip.utils.images.pil_to_tensor`)."""
    if has_transparency(image):
        rgba = image.convert("RGBA")
        image = Image.alpha_composite(Image.new("RGBA", rgba.size, (255, 255, 255, 255)), rgba)
    return np.asarray(image.convert("RGB"))


def has_transparency(image: Image.Image) -> bool:
    return image.mode in ("RGBA", "LA", "PA", "RGBa", "La") or (
        image.mode == "P" and "transparency" in image.info
    )


def alpha_array(image: Image.Image) -> np.ndarray:
    """uint8 [H, W] alpha (255 everywhere for images without transparency)."""
    if has_transparency(image):
        return np.asarray(image.convert("RGBA"))[..., 3]
    return np.full((image.size[1], image.size[0]), 255, dtype=np.uint8)


def check_fraction(name: str, value: float, below_one: bool = False) -> float:
    """0..1 (`below_one`: 0..<1, as for `keep`: a walk of zero steps draws nothing)."""
    if not isinstance(value, (int, float)) or not (0 <= value < 1 if below_one else 0 <= value <= 1):
        bound = "at least 0 and below 1" if below_one else "between 0 and 1"
        raise InputError(f"{name}: must be a number {bound}, got {value!r}")
    return float(value)


def load_square(image: ImageSource, size: int, fit: Fit, what: str = "image") -> Image.Image:
    """Load an input and fit it to a `size` square (centre crop or pad) for CLIP."""
    image = load_image(image, what)
    return apply_fit(image, plan_fit(image.size, size, fit))


MAX_FRAMES = 64  # interpolations and text diffs


def check_frames(frames: int, least: int = 2) -> int:
    if not isinstance(frames, int) or not least <= frames <= MAX_FRAMES:
        raise InputError(f"frames: must be an integer from {least} to {MAX_FRAMES}, got {frames!r}")
    return frames
