"""Mask conventions, fitting, training masks and input-file handling: no model needed."""

from __future__ import annotations

import io
import struct
import zlib

import numpy as np
import pytest
import torch
from PIL import Image

from unclip.errors import InputError
from unclip.models.inpainting import random_training_mask
from unclip.pipeline.editing.inputs import apply_fit, check_pixels, load_image, plan_fit
from unclip.pipeline.editing.masks import edit_region, erode, fit_region, grow_keep

from .conftest import box_mask, noise_image


def png_claiming(width: int, height: int) -> bytes:
    """A small valid PNG whose header claims width x height (a decompression bomb stand-in)."""
    buf = io.BytesIO()
    Image.new("L", (8, 8)).save(buf, format="PNG")
    data = bytearray(buf.getvalue())
    ihdr = data[12:29]  # b"IHDR" + 13 bytes of header fields
    ihdr[4:12] = struct.pack(">II", width, height)
    data[12:29] = ihdr
    data[29:33] = struct.pack(">I", zlib.crc32(bytes(ihdr)))
    return bytes(data)


# ---------------------------------------------------------------- mask conventions
def test_alpha_mask_marks_fully_transparent_pixels_only():
    image = noise_image(32, 32)
    mask = box_mask(32, (4, 4, 12, 12))
    mask.putpixel((20, 20), (0, 0, 0, 1))  # partly transparent: kept
    region = edit_region(image, mask)
    assert region.sum() == 64 and region[4:12, 4:12].all() and not region[20, 20]


def test_image_alpha_is_the_mask_when_none_is_given():
    image = noise_image(32, 32, mode="RGBA")
    image.putpixel((3, 5), (1, 2, 3, 0))
    region = edit_region(image, None)
    assert region.sum() == 1 and region[5, 3]


def test_black_and_white_masks_and_grey_alpha():
    image = noise_image(16, 16)
    bw = Image.new("L", (16, 16), 0)
    bw.paste(255, (0, 0, 8, 16))
    assert (
        edit_region(image, bw, "white-edits")[:, :8].all()
        and not edit_region(image, bw, "white-edits")[:, 8:].any()
    )
    assert (
        edit_region(image, bw, "black-edits")[:, 8:].all()
        and not edit_region(image, bw, "black-edits")[:, :8].any()
    )
    assert edit_region(image, bw, "alpha")[:, 8:].all()  # an L mask in alpha mode is the alpha channel


@pytest.mark.parametrize(
    "image, mask, mode, message",
    [
        (noise_image(32, 32), box_mask(16, (0, 0, 4, 4)), "alpha", "does not match"),
        (noise_image(32, 32), Image.new("RGBA", (32, 32), (0, 0, 0, 255)), "alpha", "covers nothing"),
        (noise_image(32, 32), None, "alpha", "no alpha channel"),
        (noise_image(32, 32), noise_image(32, 32), "alpha", "white-edits"),
        (noise_image(32, 32), Image.new("L", (32, 32), 0), "white-edits", "covers nothing"),
        (noise_image(32, 32), None, "black-edits", "needs a mask"),
        (noise_image(32, 32), None, "grey", "mask mode"),
    ],
)
def test_bad_masks_are_input_errors(image, mask, mode, message):
    with pytest.raises(InputError, match=message):
        edit_region(image, mask, mode)


# ---------------------------------------------------------------- fitting any size and aspect ratio
def test_fit_plans_describe_what_happens():
    assert (
        plan_fit((640, 427), 256).describe() == "resizing 640x427 to 256x256 after centre-cropping to 427x427"
    )
    assert (
        plan_fit((640, 427), 256, "pad").describe() == "padding 640x427 to 640x640, then resizing to 256x256"
    )
    assert plan_fit((256, 256), 256).describe() == "256x256, used as is"


def test_fit_crops_and_pads_image_and_region_alike():
    image = noise_image(60, 40)
    region = np.zeros((40, 60), dtype=bool)
    region[:, :10] = True  # left strip: outside the centre crop
    region[20, 30] = True
    crop = plan_fit(image.size, 20)
    fitted = fit_region(region, crop)
    assert (
        fitted.shape == (20, 20) and fitted[10, 10] and fitted.sum() == 1
    )  # 2x2 -> 1 px, conservatively kept
    assert apply_fit(image, crop).size == (20, 20)
    pad = plan_fit(image.size, 60, "pad")
    padded = fit_region(region, pad)
    assert (
        padded[:10].all()
        and padded[50:].all()
        and padded[10:50, :10].all()
        and not padded[10:50, 10:].sum() > 1
    )
    assert apply_fit(image, pad).getpixel((30, 5))[3] == 0  # padding is transparent
    only_left = np.zeros((40, 60), dtype=bool)
    only_left[:, :5] = True
    with pytest.raises(InputError, match="centre-cropping"):
        fit_region(only_left, crop)


# ---------------------------------------------------------------- files
def test_corrupt_truncated_missing_and_non_image_files(tmp_path):
    good = io.BytesIO()
    noise_image(64, 64).save(good, format="PNG")
    (tmp_path / "trunc.png").write_bytes(good.getvalue()[:200])
    (tmp_path / "text.png").write_text("not an image")
    for name, message in (
        ("trunc.png", "corrupt or truncated"),
        ("text.png", "not a readable image"),
        ("missing.png", "no such file"),
    ):
        with pytest.raises(InputError, match=message) as e:
            load_image(tmp_path / name)
        assert name in str(e.value)
    assert load_image(good.getvalue()).size == (64, 64)


def test_a_folder_is_reported_as_a_folder(tmp_path):
    folder = tmp_path / "pictures"
    folder.mkdir()
    for source in (folder, str(folder)):
        with pytest.raises(InputError, match=f"mask {folder}: is a folder, not an image file"):
            load_image(source, "mask")


def test_decompression_bombs_are_refused_before_decoding():
    with pytest.raises(InputError, match="100 megapixels"):
        load_image(png_claiming(10_000, 10_000))  # 100 MP: our limit (50 MP)
    with pytest.raises(InputError, match="megapixels|decompression bomb"):
        load_image(png_claiming(20_000, 20_000))  # 400 MP: PIL's own DecompressionBombError
    with pytest.raises(InputError, match="megapixels"):
        check_pixels(Image.new("1", (12_000, 9_000)))  # in-memory images are checked too
    assert Image.MAX_IMAGE_PIXELS is None or Image.MAX_IMAGE_PIXELS > 50_000_000  # global policy untouched


# ---------------------------------------------------------------- training masks
def test_random_training_masks_are_deterministic_varied_and_never_empty():
    def draw(seed: int) -> torch.Tensor:
        return random_training_mask(64, 48, torch.Generator().manual_seed(seed))

    assert torch.equal(draw(3), draw(3))
    masks = [draw(s) for s in range(40)]
    assert all(m.dtype == torch.bool and m.shape == (64, 48) and m.any() for m in masks)
    assert len({m.numpy().tobytes() for m in masks}) > 30
    coverage = [float(m.float().mean()) for m in masks]
    assert min(coverage) < 0.2 and max(coverage) > 0.5


def test_each_training_mask_kind():
    g = torch.Generator().manual_seed(0)
    for _ in range(5):
        border = random_training_mask(32, 32, g, weights={"border": 1.0})
        edges = torch.cat([border[0], border[-1], border[:, 0], border[:, -1]])
        assert edges.any() and not border.all()
        strokes = random_training_mask(32, 32, g, weights={"strokes": 1.0})
        assert 0 < strokes.float().mean() < 1
    assert random_training_mask(8, 8, g, weights={"full": 1.0}).all()
    with pytest.raises(ValueError, match="unknown mask kind"):
        random_training_mask(8, 8, g, weights={"blob": 1.0})


def test_keep_masks_grow_exactly_and_erode():
    keep = torch.ones(1, 1, 8, 8, dtype=torch.bool)
    keep[..., 3, 5] = False
    small = torch.tensor([[[[True, False], [True, True]]]])
    grown = grow_keep(small, 8)
    assert torch.equal(grown[..., ::4, ::4], small) and (~grown).sum() == 16
    with pytest.raises(ValueError, match="cannot grow"):
        grow_keep(small, 7)
    assert (~erode(keep, 1)).sum() == 9
