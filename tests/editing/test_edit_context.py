"""An edit's image embedding leans from the prompt's prior sample toward the CLIP embedding of the
picture's kept pixels (`context_weight`, the model's `edit_context`): the mechanics, with the micro
cascade."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch
from PIL import Image

from unclip.cascade.container import Cascade
from unclip.cascade.settings import SamplingConfig
from unclip.errors import InputError
from unclip.pipeline.editing.inpaint import conditioning, context_picture
from unclip.pipeline.unclip_pipeline import UnCLIP

from .conftest import FAST, box_mask, noise_image


def cos(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    return torch.nn.functional.cosine_similarity(a, b, dim=-1)


def test_context_picture_hides_what_the_edit_replaces():
    a = np.asarray(noise_image(32, 32, seed=1)).copy()
    b = a.copy()
    region = np.zeros((32, 32), bool)
    region[8:20, 10:24] = True
    b[region] = 255 - b[region]  # different content inside the region only
    pa, pb = np.asarray(context_picture(a, region)), np.asarray(context_picture(b, region))
    assert np.array_equal(pa, pb)
    assert np.array_equal(pa[~region], a[~region])
    assert len(np.unique(pa[region].reshape(-1, 3), axis=0)) == 1  # one flat colour
    assert context_picture(a, np.ones((32, 32), bool)) is None  # nothing kept


def test_weight_slerps_from_the_prior_sample_to_the_picture(micro):
    sampling = micro.cascade.sampling
    context = noise_image(64, 64, seed=5)
    picture = micro.cascade.clip.embed_pil([context]).float()
    embeds = {}
    for w in (0.0, 0.5, 1.0):
        _, embeds[w] = conditioning(micro, "a red apple", 2, sampling, micro.generator(3), context, w)
        assert embeds[w].shape == (2, picture.shape[-1])
    _, no_context = conditioning(micro, "a red apple", 2, sampling, micro.generator(3), None, 0.7)
    assert torch.equal(embeds[0.0], no_context)  # weight 0 (or no picture): the prior's samples
    assert torch.allclose(embeds[1.0], picture.expand(2, -1))  # weight 1: the picture, for every result
    full = cos(embeds[0.0], picture)
    half = cos(embeds[0.5], picture)
    assert (half > full).all() and (cos(embeds[0.5], embeds[0.0]) < 1 - 1e-4).all()
    # slerp halfway: equal angles to both ends
    assert torch.allclose(torch.arccos(half), torch.arccos(cos(embeds[0.5], embeds[0.0])), atol=1e-4)
    assert not torch.equal(embeds[0.5][0], embeds[0.5][1])  # the n results keep their own prior samples


def test_empty_prompt_uses_the_picture_and_needs_one(micro):
    sampling = micro.cascade.sampling
    context = noise_image(64, 64, seed=6)
    _, e = conditioning(micro, "  ", 1, sampling, micro.generator(0), context, 0.0)
    assert torch.allclose(e, micro.cascade.clip.embed_pil([context]).float())
    with pytest.raises(InputError, match="keeps none"):
        conditioning(micro, "", 1, sampling, micro.generator(0), None)


def test_erased_content_does_not_steer_an_empty_prompt_edit(micro):
    """Two pictures that differ only inside the edit region give the same fill: the fill continues what
    is kept, not what is being erased."""
    a = noise_image(64, 64, seed=7)
    arr = np.asarray(a).copy()
    arr[16:48, 16:48] = 255 - arr[16:48, 16:48]
    b = Image.fromarray(arr)
    mask = box_mask(64, (16, 16, 48, 48))
    out_a = micro.edit(a, mask, "", size=64, seed=1, method="trained", **FAST)[0]
    out_b = micro.edit(b, mask, "", size=64, seed=1, method="trained", **FAST)[0]
    assert out_a.tobytes() == out_b.tobytes()


def test_the_models_edit_context_applies_unless_the_call_sets_one(micro, tmp_path):
    c = micro.cascade
    model = UnCLIP(
        Cascade(c.tokenizer, c.modules, dataclasses.replace(c.sampling, edit_context=1.0)), device="cpu"
    )
    image, mask = noise_image(64, 64, seed=8), box_mask(64, (8, 8, 40, 40))
    kw = {"size": 64, "seed": 2, "method": "trained", **FAST}
    stored = model.edit(image, mask, "a red apple", **kw)[0]
    explicit = micro.edit(image, mask, "a red apple", context_weight=1.0, **kw)[0]
    prompt_only = model.edit(image, mask, "a red apple", context_weight=0.0, **kw)[0]
    default = micro.edit(image, mask, "a red apple", **kw)[0]  # edit_context 0 unless a model stores one
    assert stored.tobytes() == explicit.tobytes() != prompt_only.tobytes()
    assert prompt_only.tobytes() == default.tobytes()
    wide = model.outpaint(image, right=32, prompt="a red apple", size=64, seed=2, method="trained", **FAST)[0]
    wide_explicit = micro.outpaint(
        image, right=32, prompt="a red apple", size=64, seed=2, method="trained", context_weight=1.0, **FAST
    )[0]
    assert wide.tobytes() == wide_explicit.tobytes()
    model.save_pretrained(tmp_path / "m")
    assert UnCLIP.from_pretrained(tmp_path / "m", device="cpu").cascade.sampling.edit_context == 1.0
    with pytest.raises(ValueError, match="edit_context"):
        SamplingConfig(edit_context=1.5)
    with pytest.raises(InputError, match="context_weight"):
        micro.edit(image, mask, "a red apple", context_weight=-0.1, **kw)


def test_outpainting_context_ignores_hidden_pixels_of_transparent_areas(micro):
    """An RGBA picture's fully transparent pixels are unknown: whatever RGB they hide must not steer an
    outpainting that continues the picture (empty prompt)."""
    arr = np.asarray(noise_image(48, 48, seed=9, mode="RGBA")).copy()
    arr[:, 32:, 3] = 0
    other = arr.copy()
    other[:, 32:, :3] = 255 - other[:, 32:, :3]
    kw = {"right": 16, "size": 64, "seed": 3, "method": "trained", **FAST}
    a = micro.outpaint(Image.fromarray(arr, "RGBA"), **kw)[0]
    b = micro.outpaint(Image.fromarray(other, "RGBA"), **kw)[0]
    assert a.size == (64, 48) and a.tobytes() == b.tobytes()
