"""Slow and numerous clients (issue 20, item 8): a request's headers must arrive within
`header_timeout_s` and its body within `body_timeout_s` (then 408 and the connection is closed), and
connections beyond `max_connections` are answered 503 at once. Raw sockets on loopback play the
slow clients; the server is the real one."""

from __future__ import annotations

import socket
import time

import httpx
import pytest

from .live import FakeEngine, png_bytes

KEY = "sk-slow-client-test-0123456789"


def connect(server) -> socket.socket:
    s = socket.create_connection(("127.0.0.1", server.port), timeout=10)
    return s


def read_until_closed(s: socket.socket, within: float) -> bytes:
    """Everything the server sends until it closes the connection; fails if it is still open after `within` s."""
    s.settimeout(within)
    data = b""
    deadline = time.monotonic() + within
    while True:
        try:
            chunk = s.recv(65536)
        except TimeoutError:
            pytest.fail(f"the connection was still open after {within} s (got {data[:200]!r})")
        if not chunk:
            return data
        data += chunk
        if time.monotonic() > deadline:
            pytest.fail("the connection was still open")


@pytest.fixture
def server(make_server):
    return make_server(
        FakeEngine(),
        policy=None,
        unsafe_disable_safety=True,
        api_keys=[KEY],
        header_timeout_s=1.0,
        body_timeout_s=1.5,
        max_connections=8,
    )


def test_headers_that_never_finish_are_cut_off(server):
    s = connect(server)
    s.sendall(b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n")
    for _ in range(3):  # a byte now and then must not keep it open (slowloris)
        time.sleep(0.3)
        s.sendall(b"X")
    answer = read_until_closed(s, within=5)
    assert answer.startswith(b"HTTP/1.1 408") and b"request_timeout" in answer
    s.close()


def test_a_stalled_authenticated_upload_is_cut_off(server):
    s = connect(server)
    part = png_bytes((64, 64), "RGBA")
    s.sendall(
        b"POST /v1/images/edits HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        b"Authorization: Bearer " + KEY.encode() + b"\r\n"
        b"Content-Type: multipart/form-data; boundary=XyZ\r\nContent-Length: 900000\r\n\r\n"
        b'--XyZ\r\nContent-Disposition: form-data; name="image"; filename="upload"\r\n\r\n' + part
    )
    answer = read_until_closed(s, within=6)  # then nothing more: the upload stalls
    assert answer.startswith(b"HTTP/1.1 408") and b"request_timeout" in answer, answer[:300]
    s.close()


def test_connections_beyond_the_limit_get_503_and_the_server_recovers(server):
    idle = [connect(server) for _ in range(8)]
    for s in idle:
        s.sendall(b"GET /health HTTP/1.1\r\n")  # unfinished heads, within their time
    time.sleep(0.2)
    extra = connect(server)
    answer = read_until_closed(extra, within=5)
    assert answer.startswith(b"HTTP/1.1 503") and b"too_many_connections" in answer
    for s in idle:
        s.close()
    time.sleep(0.3)
    assert httpx.get(server.url + "/health", timeout=10).status_code == 200


def test_normal_and_kept_alive_requests_are_unaffected(server):
    with httpx.Client(base_url=server.url, headers={"authorization": f"Bearer {KEY}"}, timeout=30) as http:
        for _ in range(3):
            assert http.get("/v1/models").status_code == 200
            time.sleep(0.4)  # idle between requests on the same connection, under keep-alive
        r = http.post(
            "/v1/images/variations",
            data={"size": "256x256", "response_format": "b64_json"},
            files={"image": ("upload", png_bytes((64, 64), "RGB"), "application/octet-stream")},
        )
        assert r.status_code == 200
