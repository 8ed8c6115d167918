"""The inpainting networks' extra input, built by one function for training and editing."""

import torch

from unclip.models.inpainting import inpaint_input, random_training_mask


def test_the_extra_channels_are_the_image_with_the_hole_zeroed_and_the_keep_mask():
    image = torch.rand(3, 8, 8) * 2 - 1
    region = random_training_mask(8, 8, torch.Generator().manual_seed(0))  # True: repaint
    out = inpaint_input(image, ~region)
    assert out.shape == (4, 8, 8)
    assert torch.equal(out[3], (~region).float())
    assert torch.equal(out[:3][:, region], torch.zeros(3, int(region.sum())))
    assert torch.equal(out[:3][:, ~region], image[:, ~region])


def test_a_batch_takes_one_mask_for_all_or_one_per_image():
    images = torch.rand(2, 3, 8, 8)
    keep = torch.zeros(8, 8, dtype=torch.bool)
    keep[:, :4] = True
    shared = inpaint_input(images, keep)  # a 2-D mask for the batch (training's sample grid)
    assert shared.shape == (2, 4, 8, 8)
    assert torch.equal(shared[1], inpaint_input(images[1], keep))
    per_image = inpaint_input(images, keep[None, None].expand(2, 1, 8, 8))  # editing's [B, 1, H, W]
    assert torch.equal(per_image, shared)
