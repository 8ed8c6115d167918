"""Inpainting mechanics with a random micro cascade: exactness outside the mask at every size and
for both methods, method selection, fitting, RePaint resampling and seam softening."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from unclip.diffusion import NoiseSchedule, make_betas, make_sampler, sample_loop
from unclip.errors import InputError
from unclip.pipeline.editing.blend import soften_seam
from unclip.pipeline.editing.inpaint import RESAMPLE_FROM, Known, repaint_hook, resolve_method

from .conftest import FAST, box_mask, noise_image


def region_of(mask: Image.Image) -> np.ndarray:
    return np.asarray(mask)[..., 3] == 0


@pytest.mark.parametrize("size", [256, 512, 1024])
@pytest.mark.parametrize("method", ["trained", "zero-shot"])
def test_pixels_outside_the_mask_are_exactly_the_input(micro, size, method):
    image = noise_image(size, size, seed=size)
    mask = box_mask(size, (size // 8, size // 4, size // 2, 3 * size // 4))
    n = 2 if size == 256 else 1
    guided = {"decoder_guidance": 4.0, "prior_guidance": 4.0} if size == 256 else {}
    out = micro.edit(image, mask, "a red apple", n=n, size=size, seed=1, method=method, **{**FAST, **guided})
    region, src = region_of(mask), np.asarray(image)
    assert len(out) == n
    for result in out:
        arr = np.asarray(result)
        assert result.size == (size, size) and result.mode == "RGB"
        assert np.array_equal(arr[~region], src[~region])
        assert (arr[region] != src[region]).mean() > 0.9  # the hole was regenerated
    if n == 2:
        assert not np.array_equal(np.asarray(out[0]), np.asarray(out[1]))


def test_same_seed_same_result(micro):
    image, mask = noise_image(64, 64, seed=3), box_mask(64, (0, 0, 25, 15))
    a = micro.edit(image, mask, "", size=64, seed=4, method="zero-shot", **FAST)[0]
    b = micro.edit(image, mask, "", size=64, seed=4, method="zero-shot", **FAST)[0]
    c = micro.edit(image, mask, "", size=64, seed=5, method="zero-shot", **FAST)[0]
    assert a.tobytes() == b.tobytes() != c.tobytes()


def test_auto_picks_trained_when_available(micro, micro_plain):
    assert resolve_method(micro, "auto") == "trained"
    assert resolve_method(micro_plain, "auto") == "zero-shot"
    with pytest.raises(InputError, match="decoder_inpaint"):
        resolve_method(micro_plain, "trained")
    with pytest.raises(InputError, match="method"):
        resolve_method(micro, "magic")


def test_auto_follows_the_models_measured_preference(micro, tmp_path):
    """A model whose sampling says edit_method = "zero-shot" (its trained inpainting measured worse) gets
    zero-shot for "auto", survives a save/load round trip, and still allows "trained" explicitly."""
    import dataclasses
    import shutil

    from unclip.cascade.container import Cascade
    from unclip.cascade.settings import SamplingConfig
    from unclip.pipeline.unclip_pipeline import UnCLIP

    c = micro.cascade
    prefers = UnCLIP(
        Cascade(c.tokenizer, c.modules, dataclasses.replace(c.sampling, edit_method="zero-shot")),
        device="cpu",
    )
    assert resolve_method(prefers, "auto") == "zero-shot"
    assert resolve_method(prefers, "trained") == "trained"
    out = tmp_path / "m"
    prefers.save_pretrained(out)
    assert resolve_method(UnCLIP.from_pretrained(out, device="cpu"), "auto") == "zero-shot"
    with pytest.raises(ValueError, match="edit_method"):
        SamplingConfig(edit_method="best")
    shutil.rmtree(out)


def test_outpainting_auto_follows_the_models_outpaint_method(micro):
    """outpaint_method = "zero-shot" (measured better for outpainting) makes outpainting's "auto"
    zero-shot while edits' "auto" stays the model's edit method (trained here)."""
    import dataclasses

    from unclip.cascade.container import Cascade
    from unclip.cascade.settings import SamplingConfig
    from unclip.pipeline.unclip_pipeline import UnCLIP

    c = micro.cascade
    pipe = UnCLIP(
        Cascade(c.tokenizer, c.modules, dataclasses.replace(c.sampling, outpaint_method="zero-shot")),
        device="cpu",
    )
    image = noise_image(48, 64, seed=8)

    def outpaint(method: str) -> bytes:
        return pipe.outpaint(image, right=16, size=64, seed=0, method=method, **FAST)[0].tobytes()

    assert outpaint("auto") == outpaint("zero-shot") != outpaint("trained")
    assert resolve_method(pipe, "auto") == "trained"
    assert (pipe.edit_method(), pipe.edit_method(outpaint=True)) == ("trained", "zero-shot")
    with pytest.raises(ValueError, match="outpaint_method"):
        SamplingConfig(outpaint_method="best")


def test_server_engine_fills_outpainting_frames_with_the_outpaint_method(micro):
    """The web editor outpaints through /v1/images/edits, one frame at a time: with `outpaint` the
    server's engine fills the frame as `UnCLIP.outpaint` would (outpaint_method), else as an edit."""
    import dataclasses

    from unclip.cascade.container import Cascade
    from unclip.pipeline.unclip_pipeline import UnCLIP
    from unclip.server.engine import UnclipEngine

    c = micro.cascade
    pipe = UnCLIP(
        Cascade(c.tokenizer, c.modules, dataclasses.replace(c.sampling, outpaint_method="zero-shot")),
        device="cpu",
    )
    engine = UnclipEngine(pipe, {"seed": 3, **FAST})
    frame = noise_image(64, 64, seed=9).convert("RGBA")
    frame.putalpha(
        Image.fromarray(np.where(np.arange(64)[None, :] < 40, 255, 0).astype(np.uint8).repeat(64, 0))
    )

    def edit(method: str) -> bytes:
        return pipe.edit(frame, None, "a boat", size=64, seed=3, method=method, **FAST)[0].tobytes()

    assert engine.edit(frame, None, "a boat", 1, 64, outpaint=True)[0].tobytes() == edit("zero-shot")
    assert engine.edit(frame, None, "a boat", 1, 64)[0].tobytes() == edit("trained") != edit("zero-shot")


def test_edit_guidance_of_the_model_applies_to_edits_unless_the_call_sets_one(micro, tmp_path):
    """`sampling.edit_guidance` replaces the decoder guidance in edits and outpainting (a call's own
    decoder_guidance wins); text-to-image generation keeps decoder.guidance."""
    import dataclasses

    from unclip.cascade.container import Cascade
    from unclip.cascade.settings import SamplingConfig
    from unclip.pipeline.editing.inpaint import edit_sampling
    from unclip.pipeline.unclip_pipeline import UnCLIP

    c = micro.cascade
    sampling = dataclasses.replace(
        c.sampling, decoder=dataclasses.replace(c.sampling.decoder, guidance=6.0), edit_guidance=1.5
    )
    model = UnCLIP(Cascade(c.tokenizer, c.modules, sampling), device="cpu")
    assert edit_sampling(model, {}).decoder.guidance == 1.5
    assert edit_sampling(model, {"decoder_guidance": 3.0}).decoder.guidance == 3.0
    assert edit_sampling(micro, {}).decoder.guidance == c.sampling.decoder.guidance  # no edit_guidance stored
    image, mask = noise_image(64, 64, seed=8), box_mask(64, (8, 8, 40, 40))
    fast = {k: v for k, v in FAST.items() if k != "decoder_guidance"}
    stored = model.edit(image, mask, "a red apple", size=64, seed=2, method="zero-shot", **fast)[0]
    explicit = model.edit(
        image, mask, "a red apple", size=64, seed=2, method="zero-shot", **{**fast, "decoder_guidance": 1.5}
    )[0]
    strong = model.edit(
        image, mask, "a red apple", size=64, seed=2, method="zero-shot", **{**fast, "decoder_guidance": 6.0}
    )[0]
    assert stored.tobytes() == explicit.tobytes() != strong.tobytes()
    wide = model.outpaint(image, right=32, prompt="a red apple", size=64, seed=2, method="zero-shot", **fast)[
        0
    ]
    wide_explicit = model.outpaint(
        image,
        right=32,
        prompt="a red apple",
        size=64,
        seed=2,
        method="zero-shot",
        **{**fast, "decoder_guidance": 1.5},
    )[0]
    assert wide.tobytes() == wide_explicit.tobytes()
    model.save_pretrained(tmp_path / "m")
    assert UnCLIP.from_pretrained(tmp_path / "m", device="cpu").cascade.sampling.edit_guidance == 1.5
    with pytest.raises(ValueError, match="edit_guidance"):
        SamplingConfig(edit_guidance=-1.0)


def test_any_size_and_aspect_ratio_with_the_image_alpha_as_mask(micro):
    image = noise_image(300, 200, seed=5, mode="RGBA")
    arr = np.asarray(image).copy()
    arr[50:120, 100:200, 3] = 0
    image = Image.fromarray(arr, "RGBA")
    out = micro.edit(image, None, "a cat", size=64, seed=0, **FAST)[0]
    assert out.size == (64, 64)
    fitted = image.crop((50, 0, 250, 200)).resize((64, 64), Image.LANCZOS)  # centre crop, then resize
    keep = (
        np.asarray(fitted)[..., 3] == 255
    )  # pixels blended with the hole by the resize are partly transparent
    keep[15:40, 15:49] = False  # the alpha hole (rows 50-120, cols 50-150 of the crop), grown to whole pixels
    assert keep.sum() > 2500
    assert np.array_equal(np.asarray(out)[keep], np.asarray(fitted.convert("RGB"))[keep])


def test_pad_fit_generates_the_padding(micro):
    image = noise_image(128, 64, seed=6)
    mask = Image.new("RGBA", image.size, (0, 0, 0, 255))
    mask.paste((0, 0, 0, 0), (0, 0, 16, 16))
    out = np.asarray(
        micro.edit(image, mask, "a boat", size=64, seed=0, fit="pad", method="zero-shot", **FAST)[0]
    )
    placed = np.asarray(image.resize((64, 32), Image.LANCZOS))  # rows 16-48 of the padded square
    assert np.array_equal(out[16 + 10 : 48 - 4, 10:], placed[10:-4, 10:])
    assert out[:16].std() > 0 and not np.array_equal(
        out[:16], np.full_like(out[:16], 255)
    )  # padding generated


def test_bad_edit_requests_are_input_errors(micro, tmp_path):
    image = noise_image(64, 64)
    (tmp_path / "bad.png").write_bytes(b"\x89PNG\r\n\x1a\n garbage")
    cases = [
        ((image, box_mask(32, (0, 0, 8, 8)), "x"), {}, "does not match"),
        ((image, Image.new("RGBA", (64, 64), (0, 0, 0, 255)), "x"), {}, "covers nothing"),
        ((str(tmp_path / "bad.png"), None, "x"), {}, "bad.png"),
        ((image, box_mask(64, (0, 0, 8, 8)), "x"), {"size": 300}, "size"),
        ((image, box_mask(64, (0, 0, 8, 8)), "x"), {"n": 0}, "n:"),
        ((image, box_mask(64, (0, 0, 8, 8)), "x"), {"resample": 0}, "resample"),
        ((image, box_mask(64, (0, 0, 8, 8)), "x"), {"decoder_steps": 0}, "steps"),
    ]
    for args, kwargs, message in cases:
        with pytest.raises(InputError, match=message):
            micro.edit(*args, **{"size": 64, **kwargs})


def counting_model(calls: list[int]):  # type: ignore[no-untyped-def]
    """A model_fn predicting zero noise that records the timestep of every call."""

    def model_fn(x, t):
        calls.append(int(t[0]))
        return torch.zeros_like(x)

    return model_fn


def random_known() -> Known:
    return Known(torch.rand(1, 3, 8, 8) * 2 - 1, torch.rand(1, 1, 8, 8) > 0.5)


def test_repaint_resampling_keeps_the_known_region_and_calls_the_model_more():
    schedule = NoiseSchedule(make_betas("cosine", 1000))
    calls: list[int] = []
    model_fn = counting_model(calls)
    known = random_known()
    for resample, expected_calls in ((1, 5), (3, 5 + 2 * 4)):
        calls.clear()
        sampler = make_sampler("ddpm", schedule, 5)
        g = torch.Generator().manual_seed(0)
        hook = repaint_hook(known, sampler, g, model_fn, resample)
        x = sample_loop(model_fn, torch.randn(2, 3, 8, 8, generator=g), sampler, g, on_step=hook)
        assert len(calls) == expected_calls  # no resampling after the final step
        assert torch.equal(
            torch.where(known.keep, x, 0), torch.where(known.keep, known.pixels.expand_as(x), 0)
        )


def test_repaint_resampling_from_a_later_step_leaves_the_early_steps_alone():
    """The trained method resamples only in the late half of the steps: the early steps (high noise,
    what the fill shows) run once each, every later step but the last runs `resample` times."""
    calls: list[int] = []
    model_fn = counting_model(calls)
    sampler = make_sampler("ddim", NoiseSchedule(make_betas("cosine", 1000)), 6)
    g = torch.Generator().manual_seed(0)
    hook = repaint_hook(random_known(), sampler, g, model_fn, resample=2, resample_from=3)
    sample_loop(model_fn, torch.randn(1, 3, 8, 8, generator=g), sampler, g, on_step=hook)
    steps = [int(t) for t in sampler.timesteps]
    # steps 0-2 once; steps 3 and 4 twice (step then one RePaint pass); the final step once
    assert calls == steps[:3] + [steps[3]] * 2 + [steps[4]] * 2 + steps[5:]
    assert RESAMPLE_FROM["trained"] > 0 and RESAMPLE_FROM["zero-shot"] == 0


def test_seam_softening_removes_a_colour_offset_inside_the_hole_only():
    known = torch.zeros(1, 3, 32, 32)
    keep = torch.ones(1, 1, 32, 32, dtype=torch.bool)
    keep[..., 8:24, 8:24] = False
    generated = torch.where(keep, known, known + 0.6)
    out = soften_seam(generated, known, keep, width=4)
    assert torch.equal(out[keep.expand_as(out)], generated[keep.expand_as(out)])
    assert (
        out[..., 8, 8:24] - known[..., 8, 8:24]
    ).abs().max() < 0.3  # border row pulled toward the kept side
    assert torch.allclose(out[..., 16, 16], generated[..., 16, 16])  # the middle is untouched
    assert torch.equal(soften_seam(generated, known, keep, width=0), generated)


def test_shrunk_known_image_keeps_mostly_known_pixels_without_the_holes_values():
    """At the decoder's size a pixel is known when at least half of what it covers is, with the mean of
    its known part: a 1 px stroke does not become whole low-res holes, and what the hole held never
    leaks into the known pixels."""
    pixels = torch.rand(1, 3, 16, 16) * 2 - 1
    keep = torch.ones(1, 1, 16, 16, dtype=torch.bool)
    keep[..., :, 5] = False  # a 1 px stroke: a quarter of each 4x4 pixel in column 1
    keep[..., 8:, 8:] = False  # a box: whole 4x4 pixels
    small = Known(pixels, keep).at(4)
    expected_keep = torch.ones(1, 1, 4, 4, dtype=torch.bool)
    expected_keep[..., 2:, 2:] = False
    assert torch.equal(small.keep, expected_keep)
    col = pixels[..., 0:4, 4:8]  # the first low-res pixel of column 1, with the stroke in it
    known_mean = (col[..., [0, 2, 3]]).mean(dim=(-2, -1))
    assert torch.allclose(small.pixels[..., 0, 1], known_mean, atol=1e-5)
    other = pixels.clone()
    other[~keep.expand_as(pixels)] = 5.0  # different content in the hole
    assert torch.allclose(
        Known(other, keep).at(4).pixels[small.keep.expand_as(small.pixels)],
        small.pixels[small.keep.expand_as(small.pixels)],
    )
