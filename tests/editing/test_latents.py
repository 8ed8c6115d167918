"""Variations, interpolations and text diffs (mechanics with random networks), and slerp."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from unclip.cascade.settings import SamplingConfig
from unclip.errors import InputError
from unclip.pipeline.editing.latents import slerp

from .conftest import FAST, noise_image


def arrays(images):  # type: ignore[no-untyped-def]
    return [np.asarray(im) for im in images]


def test_slerp_keeps_endpoints_norms_and_angles():
    a, b = torch.tensor([[3.0, 0.0]]), torch.tensor([[0.0, 1.0]])
    assert torch.allclose(slerp(a, b, 0.0), a) and torch.allclose(slerp(a, b, 1.0), b, atol=1e-6)
    mid = slerp(a, b, 0.5)
    assert torch.allclose(mid.norm(), torch.tensor(2.0))
    assert torch.allclose(mid / mid.norm(), torch.tensor([[2**-0.5, 2**-0.5]]))


def test_variations_differ_from_each_other_and_repeat_with_the_seed(micro):
    image = noise_image(96, 64, seed=1)
    a = arrays(micro.vary(image, n=3, size=256, seed=2, **FAST))
    b = arrays(micro.vary(image, n=3, size=256, seed=2, **FAST))
    assert all(x.shape == (256, 256, 3) for x in a)
    assert all(np.array_equal(x, y) for x, y in zip(a, b))
    assert not np.array_equal(a[0], a[1]) and not np.array_equal(a[1], a[2])
    drifted = arrays(micro.vary(image, n=3, size=64, seed=2, drift=0.5, **FAST))
    plain = arrays(micro.vary(image, n=3, size=64, seed=2, **FAST))
    assert not np.array_equal(drifted[0], plain[0])
    with pytest.raises(InputError, match="drift"):
        micro.vary(image, drift=1.5)


def test_variations_keep_starts_the_decoder_from_the_source(micro):
    """keep > 0: the decoder starts from the source itself, noised (1 - keep) of the way, so the result
    stays near it; keep 0 (the paper's variations, and the micro model's stored default) starts from
    pure noise."""
    source = noise_image(64, 64, seed=6)
    target = np.asarray(source, dtype=np.float32)

    def error(images) -> float:  # type: ignore[no-untyped-def]
        return float(np.mean([np.abs(np.asarray(im, dtype=np.float32) - target).mean() for im in images]))

    kept = micro.vary(source, n=2, size=64, seed=0, keep=0.9, **FAST)
    fresh = micro.vary(source, n=2, size=64, seed=0, keep=0.0, **FAST)
    default = micro.vary(source, n=2, size=64, seed=0, **FAST)
    assert error(kept) < 0.5 * error(fresh)
    assert not np.array_equal(np.asarray(kept[0]), np.asarray(kept[1]))
    assert all(np.array_equal(np.asarray(a), np.asarray(b)) for a, b in zip(fresh, default))
    for bad in (1.0, -0.1):
        with pytest.raises(InputError, match="keep"):
            micro.vary(source, keep=bad)
    with pytest.raises(ValueError, match="vary_keep"):
        SamplingConfig(vary_keep=1.0)


@pytest.mark.parametrize("noise", ["invert", "invert-both", "random"])
def test_interpolation_frames(micro, noise):
    a, b = noise_image(64, 64, seed=3), noise_image(80, 64, seed=4)
    frames = micro.interpolate(a, b, frames=3, size=64, seed=0, noise=noise, **FAST)
    assert len(frames) == 3 and all(f.size == (64, 64) for f in frames)
    assert not np.array_equal(np.asarray(frames[0]), np.asarray(frames[2]))
    if noise == "invert":
        again = micro.interpolate(a, b, frames=3, size=64, seed=0, noise=noise, **FAST)
        assert all(np.array_equal(np.asarray(x), np.asarray(y)) for x, y in zip(frames, again))


def test_text_diff_starts_from_the_reconstruction_and_moves(micro):
    image = noise_image(64, 64, seed=5)
    to_dog = arrays(micro.text_diff(image, "a cat", "a dog", frames=3, size=64, seed=0, **FAST))
    to_car = arrays(micro.text_diff(image, "a cat", "a blue car", frames=3, size=64, seed=0, **FAST))
    assert len(to_dog) == 3
    assert np.array_equal(to_dog[0], to_car[0])  # theta = 0: the caption change has no effect yet
    assert not np.array_equal(to_dog[2], to_car[2]) and not np.array_equal(to_dog[0], to_dog[2])


def test_bad_latent_requests_are_input_errors(micro):
    image = noise_image(64, 64)
    with pytest.raises(InputError, match="frames"):
        micro.interpolate(image, image, frames=1)
    with pytest.raises(InputError, match="noise"):
        micro.interpolate(image, image, noise="zeros")
    with pytest.raises(InputError, match="same"):
        micro.text_diff(image, "a cat", "a cat")
    with pytest.raises(InputError, match="strength"):
        micro.text_diff(image, "a cat", "a dog", strength=2)


def test_inversion_paths_decode_without_guidance_unless_asked():
    """Interpolations and text diffs invert and decode with DDIM at guidance 1 (inversion is exact only
    without classifier-free guidance), whatever the model's text-to-image guidance; an explicit
    decoder_guidance wins. Steps follow the model."""
    from unclip.cascade.settings import SamplingConfig, StageSampling
    from unclip.pipeline.editing.latents import ddim_settings

    sampling = SamplingConfig(decoder=StageSampling("ddim", 20, 5.0, 1.0))
    assert ddim_settings(sampling) == StageSampling("ddim", 20, 1.0, 0.0)
    assert ddim_settings(sampling, {"decoder_guidance": None}) == StageSampling("ddim", 20, 1.0, 0.0)
    assert ddim_settings(sampling, {"decoder_guidance": 3.0}) == StageSampling("ddim", 20, 3.0, 0.0)
