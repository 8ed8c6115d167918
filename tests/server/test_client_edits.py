"""Edits and variations through the official client: real model at 256 px, every size through a fake
engine (the tiny model's 512/1024 editing is slow on 2 CPU cores), and every invalid upload."""

from __future__ import annotations

import base64

import httpx
import openai
import pytest

from .live import FakeEngine, assert_error, decode, png_bytes

IMAGE_MESSAGE = "Uploaded image must be a PNG and less than 4 MB."


def test_edit_with_alpha_no_mask_real_model(client, live):
    result = client.images.edit(
        image=png_bytes((64, 64), "RGBA"),
        prompt="a boat on the sea at sunset",
        size="256x256",
        response_format="b64_json",
    )
    (item,) = result.data
    assert decode(base64.b64decode(item.b64_json)).size == (256, 256)


def test_edit_with_mask_url_real_model(client, live):
    result = client.images.edit(
        image=png_bytes((64, 64), "RGB"),
        mask=png_bytes((64, 64), "RGBA"),
        prompt="a red apple",
        n=2,
        size="256x256",
    )
    assert len(result.data) == 2
    for item in result.data:
        assert decode(httpx.get(item.url).content).size == (256, 256)


def test_variation_real_model(client, live):
    result = client.images.create_variation(
        image=png_bytes((64, 64), "RGB"), n=2, size="256x256", response_format="b64_json"
    )
    assert len(result.data) == 2
    assert all(decode(base64.b64decode(d.b64_json)).size == (256, 256) for d in result.data)


@pytest.fixture(scope="module")
def fake(tmp_path_factory):
    """A server whose engine draws solid colours: the HTTP layer at every size, quickly."""
    from unclip.server.settings import ServerSettings

    from .live import LiveServer

    engine = FakeEngine()
    settings = ServerSettings(data_dir=str(tmp_path_factory.mktemp("data")), unsafe_disable_safety=True)
    server = LiveServer(settings, engine, None).start()
    yield server, engine
    server.stop()


@pytest.mark.parametrize("size", ["256x256", "512x512", "1024x1024"])
@pytest.mark.parametrize("response_format", ["url", "b64_json"])
def test_edits_and_variations_every_size_and_format(fake, size, response_format):
    server, _ = fake
    client = server.client()
    px = int(size.split("x")[0])
    edit = client.images.edit(
        image=png_bytes((100, 100), "RGBA"), prompt="a boat", n=3, size=size, response_format=response_format
    )
    vary = client.images.create_variation(
        image=png_bytes((100, 100), "RGB"), n=2, size=size, response_format=response_format
    )
    for result, n in ((edit, 3), (vary, 2)):
        assert len(result.data) == n
        for item in result.data:
            data = (
                base64.b64decode(item.b64_json)
                if response_format == "b64_json"
                else httpx.get(item.url).content
            )
            assert decode(data).size == (px, px)


def test_edit_passes_image_mask_prompt_and_n_to_the_model(fake):
    server, engine = fake
    client = server.client()
    client.images.edit(
        image=png_bytes((80, 80), "RGB"),
        mask=png_bytes((80, 80), "RGBA"),
        prompt="a cat",
        n=2,
        size="256x256",
    )
    kind, (mode, size, mask, prompt, n) = engine.calls[-1]
    assert (kind, mode, size, mask, prompt, n) == ("edit", "RGB", (80, 80), ("RGBA", (80, 80)), "a cat", 2)
    client.images.edit(image=png_bytes((80, 80), "LA"), prompt="a dog", size="256x256")
    assert engine.calls[-1][1][:3] == ("LA", (80, 80), None)  # no mask: the image's alpha is the mask
    # the client's list form sends `image[]`; dall-e-2 takes one image
    client.images.edit(image=[png_bytes((80, 80), "RGBA")], prompt="a cow", size="256x256")
    assert engine.calls[-1][1][3] == "a cow"
    assert engine.outpaints[-3:] == [False, False, False]


@pytest.mark.parametrize("value, expected", [("true", True), ("1", True), ("false", False), ("", False)])
def test_edit_outpaint_field_reaches_the_model(fake, value, expected):
    """unclip's own `outpaint` field (the web editor sends it; the openai client through extra_body)."""
    server, engine = fake
    server.client().images.edit(
        image=png_bytes((80, 80), "RGBA"),
        prompt="a wider view",
        size="256x256",
        extra_body={"outpaint": value},
    )
    assert engine.outpaints[-1] is expected


@pytest.mark.parametrize(
    "image, mask, kwargs, param, message",
    [
        (b"\xff\xd8\xff\xe0 a jpeg", None, {}, "image", IMAGE_MESSAGE),
        (b"GIF89a", None, {}, "image", IMAGE_MESSAGE),
        (b"", None, {}, "image", IMAGE_MESSAGE),
        ("big", None, {}, "image", IMAGE_MESSAGE),
        (
            png_bytes((64, 32), "RGBA"),
            None,
            {},
            "image",
            "Invalid input image - expected an image with equal width and height, got 64x32 instead.",
        ),
        (
            png_bytes((64, 64), "RGB"),
            None,
            {},
            "image",
            "Invalid input image - format must be in ['RGBA', 'LA', 'L'], got RGB.",
        ),
        (png_bytes((64, 64), "RGB"), png_bytes((32, 32), "RGBA"), {}, "mask", None),
        (png_bytes((64, 64), "RGB"), b"not a png", {}, "mask", IMAGE_MESSAGE),
        (png_bytes((64, 64), "RGBA"), None, {"prompt": "x" * 1001}, "prompt", None),
        (png_bytes((64, 64), "RGBA"), None, {"n": 11}, "n", None),
        (png_bytes((64, 64), "RGBA"), None, {"n": 0}, "n", None),
        (png_bytes((64, 64), "RGBA"), None, {"extra_body": {"n": "two"}}, "n", None),
        (png_bytes((64, 64), "RGBA"), None, {"size": "640x640"}, "size", None),
        (png_bytes((64, 64), "RGBA"), None, {"response_format": "jpeg"}, "response_format", None),
        (png_bytes((64, 64), "RGBA"), None, {"model": "dall-e-3"}, "model", None),
        (png_bytes((64, 64), "RGBA"), None, {"background": "transparent"}, "background", None),
        (png_bytes((64, 64), "RGBA"), None, {"output_format": "webp"}, "output_format", None),
        (png_bytes((64, 64), "RGBA"), None, {"input_fidelity": "high"}, "input_fidelity", None),
        (png_bytes((64, 64), "RGBA"), None, {"quality": "high"}, "quality", None),
        (png_bytes((64, 64), "RGBA"), None, {"extra_body": {"style": "vivid"}}, "style", None),
        (png_bytes((64, 64), "RGBA"), None, {"extra_body": {"colour": "red"}}, "colour", None),
        (
            png_bytes((64, 64), "RGBA"),
            None,
            {"extra_body": {"outpaint": "maybe"}},
            "outpaint",
            "'maybe' is not of type 'boolean' - 'outpaint'",
        ),
    ],
    ids=[
        "jpeg",
        "gif",
        "empty",
        "4mb",
        "not-square",
        "rgb-no-mask",
        "mask-size",
        "mask-not-png",
        "prompt-long",
        "n-11",
        "n-0",
        "n-text",
        "size",
        "response-format",
        "model",
        "background",
        "output-format",
        "input-fidelity",
        "quality",
        "style",
        "unknown-param",
        "outpaint-not-boolean",
    ],
)
def test_invalid_edits(client, live, big_png, image, mask, kwargs, param, message):
    before = live.metric("unclip_images_generated_total", kind="edit")
    args = {"prompt": "a boat", "size": "256x256", **kwargs}
    if mask is not None:
        args["mask"] = mask
    with pytest.raises(openai.BadRequestError) as e:
        client.images.edit(image=big_png if image == "big" else image, **args)
    assert_error(e.value, 400, param, message=message)
    assert live.metric("unclip_images_generated_total", kind="edit") == before


@pytest.mark.parametrize(
    "image, kwargs, param, message",
    [
        (b"\x89PNG\r\n\x1a\ntruncated", {}, "image", IMAGE_MESSAGE),
        (b"plain text", {}, "image", IMAGE_MESSAGE),
        ("big", {}, "image", IMAGE_MESSAGE),
        (
            png_bytes((30, 64), "RGB"),
            {},
            "image",
            "Invalid input image - expected an image with equal width and height, got 30x64 instead.",
        ),
        (png_bytes((64, 64), "RGB"), {"n": 11}, "n", None),
        (png_bytes((64, 64), "RGB"), {"size": "2048x2048"}, "size", None),
        (png_bytes((64, 64), "RGB"), {"response_format": "gif"}, "response_format", None),
        (png_bytes((64, 64), "RGB"), {"model": "gpt-image-1"}, "model", None),
        (png_bytes((64, 64), "RGB"), {"extra_body": {"prompt": "variations take no prompt"}}, "prompt", None),
        (png_bytes((64, 64), "RGB"), {"extra_body": {"outpaint": "true"}}, "outpaint", None),
    ],
    ids=[
        "truncated-png",
        "text",
        "4mb",
        "not-square",
        "n-11",
        "size",
        "response-format",
        "model",
        "prompt",
        "outpaint",
    ],
)
def test_invalid_variations(client, big_png, image, kwargs, param, message):
    with pytest.raises(openai.BadRequestError) as e:
        client.images.create_variation(image=big_png if image == "big" else image, **kwargs)
    assert_error(e.value, 400, param, message=message)


@pytest.fixture(scope="module")
def big_png():
    """A valid, square PNG of 4 MB or more (random noise does not compress)."""
    data = png_bytes((1200, 1200), "RGB", noise=True)
    assert len(data) >= 4 * 1024 * 1024
    return data
