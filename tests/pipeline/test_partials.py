"""`callback=` / `partial_images=`: progress and partial images from the generating methods."""

import numpy as np
import pytest
from PIL import Image

from unclip.errors import InputError
from unclip.pipeline.partials import Progress, partial_points
from unclip.pipeline.unclip_pipeline import UnCLIP

FAST = {
    "prior_steps": 3,
    "decoder_steps": 4,
    "upsampler_256_steps": 4,
    "prior_candidates": 1,
}


@pytest.fixture(scope="module")
def pipe(tiny_cascade):
    return UnCLIP(tiny_cascade, device="cpu", safety=False)


def _pixels(images: list[Image.Image]) -> list[bytes]:
    return [np.asarray(im).tobytes() for im in images]


def test_a_callback_changes_nothing_and_sees_every_step_and_the_partials(pipe):
    seen: list[Progress] = []
    plain = pipe.generate("a red apple", n=2, size=256, seed=11, **FAST)
    watched = pipe.generate(
        "a red apple", n=2, size=256, seed=11, callback=seen.append, partial_images=2, **FAST
    )
    assert _pixels(plain) == _pixels(watched)  # bit-identical
    assert [(p.stage, p.step) for p in seen] == (
        [("prior", i) for i in (1, 2, 3)]
        + [("decoder", i) for i in (1, 2, 3, 4)]
        + [("upsampler_256", i) for i in (1, 2, 3, 4)]
    )
    assert [p.done for p in seen] == list(range(1, 12)) and {p.overall for p in seen} == {11}
    partials = [p for p in seen if p.images is not None]
    assert [p.partial_index for p in partials] == [0, 1]
    # evenly spaced over the 8 image steps: after image steps 3 and 5 (decoder 3, upsampler 1)
    assert [(p.stage, p.step) for p in partials] == [("decoder", 3), ("upsampler_256", 1)]
    for p in partials:
        assert len(p.images) == 2 and all(im.size == (256, 256) and im.mode == "RGB" for im in p.images)
    # the estimates are pictures on their way to the final ones, not the final ones themselves
    assert _pixels(partials[-1].images) != _pixels(plain)


def test_edit_and_vary_report_partials_too_and_keep_their_results(pipe):
    picture = Image.new("RGBA", (64, 64), (200, 30, 30, 255))
    picture.paste((0, 0, 0, 0), (16, 16, 48, 48))
    for run in (
        lambda **kw: pipe.edit(picture, None, "a blue heart", size=64, seed=3, **FAST, **kw),
        lambda **kw: pipe.vary(picture.convert("RGB"), n=2, size=64, seed=4, **FAST, **kw),
    ):
        seen: list[Progress] = []
        assert _pixels(run()) == _pixels(run(callback=seen.append, partial_images=1))
        assert [p.partial_index for p in seen if p.images is not None] == [0]


@pytest.mark.parametrize("bad", [-1, 4, 7, 1.5, True])
def test_partial_images_outside_0_to_3_is_an_input_error(pipe, bad):
    with pytest.raises(InputError, match="partial_images"):
        pipe.generate("a cat", size=64, callback=print, partial_images=bad, **FAST)


def test_partial_points_are_evenly_spaced_before_the_last_step():
    assert partial_points(20, 2) == [7, 13]
    assert partial_points(20, 3) == [5, 10, 15]
    assert partial_points(8, 0) == []
    assert partial_points(1, 3) == []
    assert partial_points(3, 3) == [1, 2]
