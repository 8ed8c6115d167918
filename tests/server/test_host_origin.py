"""Web pages cannot drive the server (issue 20, item 2): without API keys a request must address the
server by a loopback name (DNS rebinding gives it another Host), and a browser request from another
origin is refused, with an OpenAI-shaped 403. The server's own editor, and clients that are not
browsers, are unaffected."""

from __future__ import annotations

import httpx
import pytest

from .live import FakeEngine

BODY = {"prompt": "a red apple", "size": "256x256", "response_format": "b64_json"}


@pytest.fixture
def keyless(make_server):
    return make_server(FakeEngine(), policy=None, unsafe_disable_safety=True)


def post(server, headers: dict[str, str], path: str = "/v1/images/generations") -> httpx.Response:
    return httpx.post(server.url + path, json=BODY, headers=headers, timeout=60)


def assert_forbidden(r: httpx.Response, code: str, named: str) -> None:
    assert r.status_code == 403, r.text
    error = r.json()["error"]
    assert error["code"] == code and named in error["message"], error


def test_a_rebound_host_name_is_refused_without_keys(keyless):
    assert_forbidden(post(keyless, {"host": "attacker.example"}), "host_not_allowed", "attacker.example")
    assert_forbidden(
        post(keyless, {"host": f"attacker.example:{keyless.port}"}), "host_not_allowed", "attacker.example"
    )
    r = httpx.get(keyless.url + "/", headers={"host": "attacker.example"})  # the editor page too
    assert r.status_code == 403


def test_a_cross_origin_browser_request_is_refused(keyless):
    r = post(keyless, {"origin": "http://attacker.example", "host": "attacker.example"})
    assert r.status_code == 403
    assert_forbidden(
        post(keyless, {"origin": "http://attacker.example"}), "origin_not_allowed", "http://attacker.example"
    )
    assert_forbidden(post(keyless, {"origin": "null"}), "origin_not_allowed", "null")
    # another port of the same machine is another origin
    assert_forbidden(
        post(keyless, {"origin": f"http://127.0.0.1:{keyless.port + 1}"}), "origin_not_allowed", "127.0.0.1"
    )


def test_same_origin_and_non_browser_requests_are_answered(keyless):
    assert post(keyless, {}).status_code == 200  # no Origin: not a browser
    assert post(keyless, {"origin": keyless.url}).status_code == 200  # the editor's own requests
    r = post(keyless, {"host": f"localhost:{keyless.port}", "origin": f"http://localhost:{keyless.port}"})
    assert r.status_code == 200
    assert httpx.get(keyless.url + "/health", headers={"host": f"[::1]:{keyless.port}"}).status_code == 200


def test_allowed_hosts_and_origins_settings(make_server):
    server = make_server(
        FakeEngine(),
        policy=None,
        unsafe_disable_safety=True,
        allowed_hosts=["box.lan"],
        allowed_origins=["https://app.example.com"],
    )
    assert post(server, {"host": "box.lan:8000"}).status_code == 200
    assert post(server, {"host": "other.lan"}).status_code == 403
    assert post(server, {"origin": "https://app.example.com"}).status_code == 200
    assert post(server, {"origin": "https://app.example.com:444"}).status_code == 403


def test_with_keys_any_host_name_works_but_other_origins_do_not(make_server):
    server = make_server(
        FakeEngine(), policy=None, unsafe_disable_safety=True, api_keys=["sk-0123456789abcdef0123"]
    )
    auth = {"authorization": "Bearer sk-0123456789abcdef0123"}
    assert post(server, {**auth, "host": "images.example.com"}).status_code == 200
    r = post(server, {**auth, "host": "images.example.com", "origin": "https://evil.example"})
    assert_forbidden(r, "origin_not_allowed", "https://evil.example")
    assert (
        post(
            server, {**auth, "host": "images.example.com", "origin": "https://images.example.com"}
        ).status_code
        == 200
    )
