"""Uploads cost memory by what the model uses, not by what the file declares (issue 20, item 1).

A 4096x4096 PNG can be a 60 KB file (64 MB decoded; more through the content policy). The server
shrinks every upload to the requested output size right after decoding it, keeping its transparent
(edit) area, and decodes only `upload_workers` at a time. `benchmarks/upload_memory.py` measures the
peak RSS of 32 such uploads at once."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from .live import FakeEngine, FakePolicy


def big_png(side: int, mode: str, hole: tuple[int, int, int, int] | None = None) -> bytes:
    image = Image.new(mode, (side, side), (90, 140, 200, 255)[: len(mode)])
    if hole is not None:
        image.paste(Image.new(mode, (hole[2] - hole[0], hole[3] - hole[1]), (0,) * len(mode)), hole[:2])
    buf = io.BytesIO()
    image.save(buf, format="PNG")
    return buf.getvalue()


@pytest.fixture(scope="module")
def uploads() -> dict[str, bytes]:
    return {
        # a 3x3-pixel hole: after shrinking 4096 -> 256 it must still be there (it covers under one pixel)
        "image": big_png(4096, "RGBA", (2000, 2000, 2003, 2003)),
        "mask": big_png(4096, "RGBA", (100, 100, 1100, 1100)),
        "rgb": big_png(4096, "RGB"),
    }


@pytest.fixture
def server(make_server):
    engine = FakeEngine()
    policy = FakePolicy()
    return make_server(engine, policy=policy), engine, policy


def test_declared_4096_px_uploads_reach_the_model_at_the_output_size(server, uploads):
    live, engine, _ = server
    assert len(uploads["image"]) < 200_000  # small files that declare 16.7 megapixels
    client = live.client()
    client.images.edit(
        image=uploads["rgb"],
        mask=uploads["mask"],
        prompt="a boat",
        size="256x256",
        response_format="b64_json",
    )
    image, mask = engine.inputs[-1]
    assert image.size == (256, 256) and mask is not None and mask.size == (256, 256)
    region = np.asarray(mask.getchannel("A")) == 0  # the mask's 1000 px hole, at 1/16 scale
    assert 60 * 60 <= region.sum() <= 65 * 65, region.sum()

    client.images.create_variation(image=uploads["rgb"], size="512x512", response_format="b64_json")
    assert engine.inputs[-1][0].size == (512, 512)


def test_a_hole_smaller_than_an_output_pixel_survives_the_shrinking(server, uploads):
    live, engine, _ = server
    live.client().images.edit(
        image=uploads["image"], prompt="a boat", size="256x256", response_format="b64_json"
    )
    image, mask = engine.inputs[-1]
    assert mask is None and image.size == (256, 256)
    alpha = np.asarray(image.getchannel("A"))
    assert (alpha == 0).sum() >= 1 and (alpha == 0).sum() <= 4  # edited where any covered pixel was
    assert alpha.min() == 0 and np.median(alpha) == 255


def test_the_content_policy_checks_the_shrunk_upload(make_server, uploads):
    seen: list[tuple[int, int]] = []

    class SizeRecordingPolicy(FakePolicy):
        def check_image(self, image, kind="upload"):  # type: ignore[no-untyped-def]
            seen.append(image.size)
            return super().check_image(image, kind)

    live = make_server(FakeEngine(), policy=SizeRecordingPolicy())
    live.client().images.create_variation(image=uploads["rgb"], size="256x256", response_format="b64_json")
    assert seen[0] == (256, 256), seen
