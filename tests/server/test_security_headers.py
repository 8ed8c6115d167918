"""The editor's origin runs only its own scripts (issue 20, item 6): the editor keeps the API key in
localStorage, so no page of the server loads a script from elsewhere (FastAPI's /docs and /redoc
loaded swagger-ui and ReDoc from a CDN), and every response carries a CSP, X-Frame-Options and
nosniff. (That the editor works under this CSP is shown by the Chromium tests in tests/editor.)"""

from __future__ import annotations

import re

import httpx
import pytest

from .live import FakeEngine


@pytest.fixture
def server(make_server):
    return make_server(FakeEngine(), policy=None, unsafe_disable_safety=True)


def test_no_page_loads_a_script_from_another_origin(server):
    for path in ("/", "/docs", "/redoc", "/docs/oauth2-redirect"):
        r = httpx.get(server.url + path)
        if r.status_code == 200:
            for src in re.findall(r"<script[^>]*src=[\"']([^\"']+)", r.text):
                assert "://" not in src and not src.startswith("//"), (path, src)
        else:
            assert r.status_code == 404 and r.json()["error"]["type"] == "invalid_request_error", (
                path,
                r.text,
            )
    assert httpx.get(server.url + "/openapi.json").json()["paths"]  # the API document is still served


@pytest.mark.parametrize(
    "path", ["/", "/static/js/main.js", "/v1/models", "/health", "/openapi.json", "/nowhere"]
)
def test_every_response_carries_the_security_headers(server, path):
    r = httpx.get(server.url + path)
    csp = r.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp and "object-src 'none'" in csp
    assert r.headers["x-frame-options"] == "DENY"
    assert r.headers["x-content-type-options"] == "nosniff"


def test_image_urls_carry_them_too(server):
    url = server.client().images.generate(prompt="a cat", size="256x256").data[0].url
    r = httpx.get(url)
    assert r.status_code == 200 and r.headers["x-content-type-options"] == "nosniff"


def test_a_public_base_url_may_serve_the_editor_its_images(make_server):
    server = make_server(
        FakeEngine(),
        policy=None,
        unsafe_disable_safety=True,
        public_base_url="https://images.example.com/unclip/",
    )
    csp = httpx.get(server.url + "/").headers["content-security-policy"]
    assert "connect-src 'self' https://images.example.com" in csp
