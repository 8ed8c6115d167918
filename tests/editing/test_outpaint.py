"""Outpainting: margins, frame-by-frame filling of canvases larger than a frame, generation frames."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from unclip.errors import InputError
from unclip.pipeline.editing.outpaint import axis_positions, plan_frames, plan_outpaint

from .conftest import FAST, noise_image


def test_frames_cover_every_unknown_pixel_each_touching_known_ones():
    known = np.zeros((300, 900), dtype=bool)
    known[100:200, 350:550] = True
    frames = plan_frames(known, 256, 64)
    covered = known.copy()
    for x, y in frames:
        window = covered[max(y, 0) : y + 256, max(x, 0) : x + 256]
        assert window.any() and not window.all()  # conditioned on something, generates something
        covered[max(y, 0) : y + 256, max(x, 0) : x + 256] = True
    assert covered.all() and len(frames) >= 4
    assert axis_positions(200, 256, 64) == [-28] and axis_positions(656, 256, 64) == [0, 133, 267, 400]


def test_extending_keeps_the_picture_exactly_at_its_new_place(micro):
    image = noise_image(200, 150, seed=1)
    out = micro.outpaint(image, left=40, right=20, top=10, bottom=30, n=2, size=256, seed=0, **FAST)
    assert len(out) == 2 and all(o.size == (260, 190) and o.mode == "RGB" for o in out)
    for o in out:
        arr = np.asarray(o)
        assert np.array_equal(arr[10:160, 40:240], np.asarray(image))
        assert arr[:, :40].std() > 0  # the margin was generated (not left white)
    assert not np.array_equal(np.asarray(out[0]), np.asarray(out[1]))


def test_a_canvas_wider_than_a_frame_is_filled_frame_by_frame(micro):
    image = noise_image(64, 64, seed=2)
    plan = plan_outpaint(image, left=100, right=100, size=64)
    assert len(plan.frames) >= 4 and plan.describe(image.size).startswith(
        "64x64 picture at 100,0 on a 264x64 canvas"
    )
    out = micro.outpaint(
        image,
        left=100,
        right=100,
        prompt="a boat on the sea at sunset",
        size=64,
        seed=3,
        method="zero-shot",
        **FAST,
    )[0]
    arr = np.asarray(out)
    assert out.size == (264, 64) and np.array_equal(arr[:, 100:164], np.asarray(image))
    assert not (arr == 255).all(axis=(0, 2)).any()  # no column left white (unfilled)


def test_a_generation_frame_on_a_larger_canvas(micro):
    image = noise_image(100, 80, seed=4)
    out = micro.outpaint(image, frame=(-30, 40), size=64, seed=0, **FAST)[0]
    assert out.mode == "RGBA" and out.size == (130, 104)
    arr = np.asarray(out)
    assert np.array_equal(arr[:80, 30:130, :3], np.asarray(image)) and (arr[:80, 30:130, 3] == 255).all()
    assert (arr[40:104, 0:64, 3] == 255).all()  # the frame is filled
    assert (arr[80:, 64:, 3] == 0).all() and (
        arr[:40, :30, 3] == 0
    ).all()  # the rest of the canvas stays empty
    # the canvas goes back in as the next request's picture: its transparent part is unknown
    nxt = micro.outpaint(out, frame=(66, 40), size=64, seed=1, **FAST)[0]
    assert np.array_equal(np.asarray(nxt)[arr[..., 3] == 255], arr[arr[..., 3] == 255])


def test_transparent_pixels_of_the_picture_are_filled_too(micro):
    arr = np.asarray(noise_image(64, 64, seed=5, mode="RGBA")).copy()
    arr[20:40, 20:40, 3] = 0
    out = np.asarray(micro.outpaint(Image.fromarray(arr, "RGBA"), size=64, seed=0, **FAST)[0])
    keep = arr[..., 3] == 255
    assert np.array_equal(out[keep], arr[keep][:, :3])


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"frame": (500, 500)}, "does not overlap"),
        ({"frame": (0, 0), "size": 64}, "nothing to generate"),
        ({"frame": (10, 10), "left": 5}, "not both"),
        ({"left": -3}, "left"),
        ({}, "nothing to generate"),
        ({"left": 10, "overlap": 64, "size": 64}, "overlap"),
        ({"left": 400_000, "right": 400_000}, "megapixels"),
        ({"left": 8, "size": 300}, "size"),
        ({"left": 3000, "size": 64}, "the limit is 100"),
    ],
)
def test_bad_outpaint_requests_are_input_errors(micro, kwargs, message):
    with pytest.raises(InputError, match=message):
        micro.outpaint(noise_image(100, 100), **{"size": 256, **kwargs})
