"""Outpainting: extend a picture in any direction, or fill a square generation frame placed anywhere
on a larger canvas (DALL-E 2's editor). Canvases larger than one frame are filled frame by frame,
each frame an inpainting job conditioned on everything already on the canvas, so tiles share their
overlap and no seam shows. The canvas stays at the picture's own resolution: its pixels are never
resampled and keep their exact values at their new position."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from PIL import Image

from unclip.cascade.runner import CascadeRunner
from unclip.errors import InputError
from unclip.pipeline.editing.inpaint import (
    Method,
    conditioning,
    context_picture,
    edit_sampling,
    inpaint_arrays,
    resolve_method,
)
from unclip.pipeline.editing.inputs import MAX_INPUT_PIXELS, ImageSource, alpha_array, load_image, rgb_array
from unclip.pipeline.editing.safety import screen_inputs, screen_outputs
from unclip.safety import Policy

MAX_FRAMES = 100  # one full cascade run each


@dataclass
class Canvas:
    """n candidate canvases (uint8 [n, H, W, 3]) sharing one known mask ([H, W] bool)."""

    pixels: np.ndarray
    known: np.ndarray

    @staticmethod
    def _slices(x: int, y: int, size: int, h: int, w: int) -> tuple[tuple[slice, slice], tuple[slice, slice]]:
        """(canvas slices, frame slices) of the part of the frame at (x, y) that lies on the canvas."""
        y0, y1, x0, x1 = max(y, 0), min(y + size, h), max(x, 0), min(x + size, w)
        return (slice(y0, y1), slice(x0, x1)), (slice(y0 - y, y1 - y), slice(x0 - x, x1 - x))

    def crop(self, x: int, y: int, size: int) -> tuple[np.ndarray, np.ndarray]:
        """The frame at (x, y): pixels [n, size, size, 3] (white off the canvas) and its edit region
        [size, size] (unknown or off the canvas)."""
        n, h, w, _ = self.pixels.shape
        on_canvas, in_frame = self._slices(x, y, size, h, w)
        pixels = np.full((n, size, size, 3), 255, dtype=np.uint8)
        region = np.ones((size, size), dtype=bool)
        pixels[:, in_frame[0], in_frame[1]] = self.pixels[:, on_canvas[0], on_canvas[1]]
        region[in_frame] = ~self.known[on_canvas]
        return pixels, region

    def fill(self, x: int, y: int, size: int, result: np.ndarray) -> None:
        """Write a frame's results ([n, size, size, 3]) into the still unknown pixels under it."""
        on_canvas, in_frame = self._slices(x, y, size, *self.known.shape)
        unknown = ~self.known[on_canvas]
        patch = self.pixels[:, on_canvas[0], on_canvas[1]]  # a view: writing fills the canvas
        patch[:, unknown] = result[:, in_frame[0], in_frame[1]][:, unknown]
        self.known[on_canvas] = True


def axis_positions(length: int, size: int, overlap: int) -> list[int]:
    """Frame offsets covering [0, length): one centred frame if it fits, else evenly spaced frames
    from 0 to length - size overlapping by at least `overlap`."""
    if length <= size:
        return [-((size - length) // 2)]
    count = math.ceil((length - size) / (size - overlap)) + 1
    return [round(i * (length - size) / (count - 1)) for i in range(count)]


def plan_frames(known: np.ndarray, size: int, overlap: int) -> list[tuple[int, int]]:
    """Frame positions (x, y) covering every unknown pixel, in filling order: each next frame is the
    one with the most known pixels (original or already generated) under it."""
    h, w = known.shape
    known = known.copy()

    def window(x: int, y: int) -> np.ndarray:
        return known[max(y, 0) : y + size, max(x, 0) : x + size]

    def score(x: int, y: int) -> int | None:
        """Known pixels under the frame, or None when it has nothing left to generate."""
        win = window(x, y)
        return None if win.all() else int(win.sum())

    scores = {
        (x, y): score(x, y)
        for y in axis_positions(h, size, overlap)
        for x in axis_positions(w, size, overlap)
    }
    order: list[tuple[int, int]] = []
    while True:
        live = [(s, pos) for pos, s in scores.items() if s is not None]
        if not live:
            return order
        x, y = max(live, key=lambda item: item[0])[1]
        order.append((x, y))
        window(x, y)[:] = True
        for px, py in scores:  # only frames overlapping this one changed
            if abs(px - x) < size and abs(py - y) < size:
                scores[(px, py)] = score(px, py)


def _check_margins(**margins: int) -> None:
    for name, value in margins.items():
        if not isinstance(value, int) or value < 0:
            raise InputError(f"{name}: must be a non-negative number of pixels, got {value!r}")


def place(image: Image.Image, left: int, top: int, width: int, height: int) -> tuple[np.ndarray, np.ndarray]:
    """A canvas (uint8 [H, W, 3], known [H, W]) with `image` at (left, top); its fully transparent
    pixels stay unknown."""
    if width * height > MAX_INPUT_PIXELS:
        raise InputError(
            f"canvas: {width}x{height} is {width * height / 1e6:.0f} megapixels; the limit is "
            f"{MAX_INPUT_PIXELS / 1e6:.0f} megapixels"
        )
    pixels = np.full((height, width, 3), 255, dtype=np.uint8)
    known = np.zeros((height, width), dtype=bool)
    w, h = image.size
    pixels[top : top + h, left : left + w] = rgb_array(image)
    known[top : top + h, left : left + w] = alpha_array(image) > 0
    return pixels, known


@dataclass
class OutpaintPlan:
    """Where the picture lands on the canvas and which frames fill it, in order."""

    pixels: np.ndarray  # uint8 [H, W, 3]
    known: np.ndarray  # [H, W] bool
    offset: tuple[int, int]  # the picture's top-left corner on the canvas
    frames: list[tuple[int, int]]  # frame top-left corners on the canvas
    size: int
    framed: bool  # a single user-placed frame (RGBA results) rather than margins

    def describe(self, source: tuple[int, int]) -> str:
        h, w = self.known.shape
        where = f"{source[0]}x{source[1]} picture at {self.offset[0]},{self.offset[1]} on a {w}x{h} canvas"
        count = len(self.frames)
        return f"{where}; filling {count} frame{'s' if count != 1 else ''} of {self.size}x{self.size} px"


def plan_outpaint(
    image: Image.Image,
    left: int = 0,
    right: int = 0,
    top: int = 0,
    bottom: int = 0,
    frame: tuple[int, int] | None = None,
    size: int = 1024,
    overlap: int | None = None,
) -> OutpaintPlan:
    """The canvas and frames for margins, or for one frame at `frame` (relative to the picture)."""
    _check_margins(left=left, right=right, top=top, bottom=bottom)
    overlap = size // 4 if overlap is None else overlap
    if not isinstance(overlap, int) or not 0 <= overlap < size:
        raise InputError(f"overlap: must be from 0 to {size - 1} px, got {overlap!r}")
    w, h = image.size
    if frame is None:
        pixels, known = place(image, left, top, w + left + right, h + top + bottom)
        if known.all():
            raise InputError("outpaint: nothing to generate: give left/right/top/bottom margins or a frame")
        frames = plan_frames(known, size, overlap)
        if len(frames) > MAX_FRAMES:
            raise InputError(
                f"outpaint: filling this canvas needs {len(frames)} frames of {size} px; the limit is {MAX_FRAMES} "
                "(use a larger frame size or smaller margins)"
            )
        return OutpaintPlan(pixels, known, (left, top), frames, size, False)
    if left or right or top or bottom:
        raise InputError("frame: give either a generation frame or left/right/top/bottom margins, not both")
    fx, fy = frame
    left, top = max(0, -fx), max(0, -fy)
    pixels, known = place(image, left, top, max(w, fx + size) + left, max(h, fy + size) + top)
    x, y = fx + left, fy + top
    under = known[y : y + size, x : x + size]
    if not under.any():
        raise InputError(
            f"frame: the {size}x{size} frame at {fx},{fy} does not overlap the picture ({w}x{h})"
        )
    if under.all():
        raise InputError(
            f"frame: the {size}x{size} frame at {fx},{fy} lies on the picture; nothing to generate"
        )
    return OutpaintPlan(pixels, known, (left, top), [(x, y)], size, True)


def outpaint(
    runner: CascadeRunner,
    policy: Policy | None,
    image: ImageSource,
    left: int = 0,
    right: int = 0,
    top: int = 0,
    bottom: int = 0,
    prompt: str = "",
    n: int = 1,
    size: int | None = None,
    seed: int | None = None,
    frame: tuple[int, int] | None = None,
    method: Method = "auto",
    progress: bool = False,
    overlap: int | None = None,
    resample: int | None = None,
    blend: int | None = None,
    context_weight: float | None = None,
    **stage_settings: Any,
) -> list[Image.Image]:
    """See `UnCLIP.outpaint`."""
    size = size if size is not None else runner.max_size
    runner.check_request([prompt], n, size)
    resolved = resolve_method(runner, method, runner.cascade.sampling.outpaint_method)
    sampling = edit_sampling(runner, stage_settings)
    image = load_image(image, "image")
    plan = plan_outpaint(image, left, right, top, bottom, frame, size, overlap)
    screen_inputs(policy, [prompt], [image])
    generator = runner.generator(seed)
    (ox, oy), (w, h) = plan.offset, image.size
    picture = context_picture(plan.pixels[oy : oy + h, ox : ox + w], ~plan.known[oy : oy + h, ox : ox + w])
    text, embeds = conditioning(runner, prompt, n, sampling, generator, picture, context_weight, progress)
    canvas = Canvas(np.repeat(plan.pixels[None], n, axis=0), plan.known.copy())
    for x, y in plan.frames:
        crop, region = canvas.crop(x, y, size)
        result = inpaint_arrays(
            runner, crop, region, text, embeds, resolved, sampling, generator, resample, blend, progress
        )
        canvas.fill(x, y, size, result)
    if not plan.framed:
        return screen_outputs(policy, [Image.fromarray(c, "RGB") for c in canvas.pixels])
    alpha = np.where(canvas.known, 255, 0).astype(np.uint8)
    return screen_outputs(
        policy,
        [Image.fromarray(np.dstack([c * canvas.known[..., None], alpha]), "RGBA") for c in canvas.pixels],
    )
