"""Numbers with thousands of digits (issue 20, item 5): Python refuses to convert integers of more than
4,300 digits, which was a 500 with a traceback; now a 400 naming the field, in JSON and in forms."""

from __future__ import annotations

import json

import httpx
import pytest

from .live import FakeEngine, png_bytes

HUGE = "9" * 5000


@pytest.fixture
def server(make_server):
    return make_server(FakeEngine(), policy=None, unsafe_disable_safety=True)


def assert_400(r: httpx.Response, param: str | None) -> None:
    assert r.status_code == 400, r.text[:500]
    error = r.json()["error"]
    assert error["param"] == param and error["type"] == "invalid_request_error", error
    assert len(error["message"]) < 300, error["message"][:300]


@pytest.mark.parametrize("field", ["n", "size", "user", "prompt", "model", "response_format"])
def test_a_5000_digit_number_in_json_is_a_400_naming_the_field(server, field):
    body = {"prompt": "a red apple", "size": "256x256"}
    raw = (
        json.dumps(body)[:-1] + f', "{field}": {HUGE}}}'
        if field not in body
        else json.dumps({**body, field: "X"}).replace('"X"', HUGE)
    )
    r = httpx.post(
        server.url + "/v1/images/generations",
        content=raw,
        headers={"content-type": "application/json"},
        timeout=60,
    )
    assert_400(r, field)


def test_a_negative_5000_digit_n_is_a_400(server):
    r = httpx.post(
        server.url + "/v1/images/generations",
        content='{"prompt": "a", "n": -' + HUGE + "}",
        headers={"content-type": "application/json"},
        timeout=60,
    )
    assert_400(r, "n")


@pytest.mark.parametrize("endpoint", ["edits", "variations"])
def test_a_5000_digit_n_in_a_form_is_a_400(server, endpoint):
    data = {"n": HUGE, "size": "256x256"} | ({"prompt": "a boat"} if endpoint == "edits" else {})
    r = httpx.post(
        f"{server.url}/v1/images/{endpoint}",
        data=data,
        timeout=60,
        files={"image": ("upload", png_bytes((64, 64), "RGBA"), "application/octet-stream")},
    )
    assert_400(r, "n")
    assert "5000 digits" in r.json()["error"]["message"]
