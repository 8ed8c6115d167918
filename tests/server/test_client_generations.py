"""The official `openai` client against `unclip serve`: generations, models, and every invalid field."""

from __future__ import annotations

import base64

import httpx
import openai
import pytest

from .live import FakeEngine, assert_error, decode


def test_b64_json_256_returns_n_pngs_of_that_size(client):
    result = client.images.generate(
        model="dall-e-2", prompt="a red apple", n=2, size="256x256", response_format="b64_json"
    )
    assert isinstance(result.created, int) and len(result.data) == 2
    for item in result.data:
        assert item.url is None
        image = decode(base64.b64decode(item.b64_json))
        assert image.format == "PNG" and image.size == (256, 256)


def test_url_256_is_absolute_served_without_a_key_and_a_png(client, live):
    result = client.images.generate(prompt="a blue car", size="256x256", response_format="url")
    (item,) = result.data
    assert item.b64_json is None and item.url.startswith(live.url + "/images/")
    response = httpx.get(item.url)  # no Authorization header
    assert response.status_code == 200 and response.headers["content-type"] == "image/png"
    assert decode(response.content).size == (256, 256)


def test_512_b64(client):
    result = client.images.generate(
        prompt="a cat sitting on a mat", size="512x512", response_format="b64_json"
    )
    assert decode(base64.b64decode(result.data[0].b64_json)).size == (512, 512)


def test_nulls_mean_defaults_1024_url(client):
    """n, size, response_format and model may be JSON null: 1 image, 1024x1024, a url."""
    result = client.images.generate(
        prompt="a house with a red roof", model=None, n=None, size=None, response_format=None
    )
    (item,) = result.data
    assert decode(httpx.get(item.url).content).size == (1024, 1024)


def test_n_10(client):
    result = client.images.generate(prompt="a bowl of soup", n=10, size="256x256", response_format="b64_json")
    assert len(result.data) == 10
    assert all(decode(base64.b64decode(d.b64_json)).size == (256, 256) for d in result.data)


def test_models_list_and_retrieve(client):
    models = client.models.list()
    assert [m.id for m in models.data] == ["dall-e-2"]
    assert client.models.retrieve("dall-e-2").id == "dall-e-2"
    with pytest.raises(openai.NotFoundError) as e:
        client.models.retrieve("dall-e-3")
    assert_error(e.value, 404, "model", code="model_not_found")


@pytest.mark.parametrize(
    "kwargs, param",
    [
        ({"size": "300x300"}, "size"),
        ({"size": "256"}, "size"),
        ({"n": 0}, "n"),
        ({"n": 11}, "n"),
        ({"prompt": ""}, "prompt"),
        ({"prompt": "   "}, "prompt"),
        ({"prompt": "x" * 1001}, "prompt"),
        ({"response_format": "png"}, "response_format"),
        ({"model": "dall-e-3"}, "model"),
        ({"model": "gpt-image-1"}, "model"),
        ({"quality": "hd"}, "quality"),
        ({"style": "vivid"}, "style"),
        ({"background": "transparent"}, "background"),
        ({"output_format": "png"}, "output_format"),
        ({"output_compression": 50}, "output_compression"),
        ({"moderation": "low"}, "moderation"),
        ({"extra_body": {"partial_images": 2}}, "partial_images"),  # without stream
        ({"extra_body": {"frobnicate": True}}, "frobnicate"),
        ({"extra_body": {"n": "2"}}, "n"),
        ({"extra_body": {"n": True}}, "n"),
        ({"extra_body": {"n": 1.5}}, "n"),
        ({"extra_body": {"prompt": 5}}, "prompt"),
        ({"extra_body": {"size": 256}}, "size"),
        ({"extra_body": {"user": 7}}, "user"),
    ],
)
def test_invalid_fields_are_400s_naming_the_param(client, live, kwargs, param):
    before = live.metric("unclip_images_generated_total", kind="generate")
    args = {"prompt": "a red apple", "size": "256x256", **kwargs}
    with pytest.raises(openai.BadRequestError) as e:
        client.images.generate(**args)
    body = assert_error(e.value, 400, param)
    assert param in body["message"] or param == "prompt"
    assert live.metric("unclip_images_generated_total", kind="generate") == before  # nothing generated


def test_newer_param_sent_as_null_is_ignored(client):
    result = client.images.generate(
        prompt="a red apple",
        size="256x256",
        response_format="b64_json",
        extra_body={"style": None, "background": None},
    )
    assert len(result.data) == 1


def test_quality_standard_is_accepted(client):
    result = client.images.generate(
        prompt="a red apple", size="256x256", quality="standard", response_format="b64_json", user="user-1234"
    )
    assert len(result.data) == 1


def test_size_above_the_models_largest_is_a_400_naming_size(make_server):
    server = make_server(FakeEngine(max_size=256), unsafe_disable_safety=True, policy=None)
    client = server.client()
    for size in ("512x512", "1024x1024"):
        with pytest.raises(openai.BadRequestError) as e:
            client.images.generate(prompt="a red apple", size=size)
        body = assert_error(e.value, 400, "size")
        assert "256x256" in body["message"]
    # the default size (1024x1024, as OpenAI's) is refused the same way; default_size can lower it
    with pytest.raises(openai.BadRequestError) as e:
        client.images.generate(prompt="a red apple")
    assert_error(e.value, 400, "size")
    assert len(client.images.generate(prompt="a red apple", size="256x256").data) == 1
