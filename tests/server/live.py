"""Helpers for the server tests: a live uvicorn server on a loopback port, engine and policy stand-ins.

The model is the tiny random cascade (tests/conftest.py) with one sampling step per stage
(`steps_preset="fastest"`), shared by every server in the session. Engine wrappers slow it down or
count its calls where a test needs that; the server code under test is always the real one.
"""

from __future__ import annotations

import io
import re
import socket
import threading
import time
from types import SimpleNamespace
from typing import Any

import httpx
import numpy as np
import openai
from PIL import Image

from unclip.server.runner import GracefulServer, build_server
from unclip.server.settings import ServerSettings

FASTEST = "fastest"
# The nudity detector (nudenet, AGPL-3.0 licence file) is no dependency of the test install: servers with the
# real policy start only with its waiver (a waiver of an installed check changes nothing: it still runs).
WAIVE = ["nudity"]


class LiveServer:
    """`build_server(...)` running in a background thread on 127.0.0.1:<free port>."""

    def __init__(self, settings: ServerSettings, engine: Any, policy: Any) -> None:
        self.settings = settings
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.server: GracefulServer = build_server(settings, engine=engine, policy=policy)
        self.state = self.server.state
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [self.sock]}, daemon=True)

    def start(self) -> LiveServer:
        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("server did not start")
            time.sleep(0.02)
        return self

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(30)

    def client(self, api_key: str = "sk-test", **kw: Any) -> openai.OpenAI:
        kw.setdefault("max_retries", 0)
        kw.setdefault("timeout", 120)
        return openai.OpenAI(base_url=self.url + "/v1", api_key=api_key, **kw)

    def metrics(self) -> str:
        return httpx.get(self.url + "/metrics").text

    def metric(self, name: str, **labels: str) -> float:
        """The value of one sample in /metrics (0.0 when absent)."""
        want = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
        for line in self.metrics().splitlines():
            m = re.match(r"^([a-zA-Z_:]+)(\{[^}]*\})?\s+(\S+)$", line)
            if not m or m.group(1) != name:
                continue
            got = ",".join(sorted((m.group(2) or "{}")[1:-1].split(","))) if m.group(2) else ""
            if got == want:
                return float(m.group(3))
        return 0.0

    def wait_until(self, predicate: Any, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while not predicate():
            if time.monotonic() > deadline:
                raise AssertionError("condition not reached in time")
            time.sleep(0.02)


class CountingEngine:
    """Wraps an engine: counts and records calls, optionally sleeps first (a slow model)."""

    def __init__(self, inner: Any, delay: float = 0.0) -> None:
        self.inner = inner
        self.delay = delay
        self.calls: list[tuple[str, int]] = []  # (kind, images)
        self.lock = threading.Lock()

    @property
    def max_size(self) -> int:
        return self.inner.max_size

    @property
    def description(self) -> str:
        return "counting " + getattr(self.inner, "description", "")

    def _note(self, kind: str, n: int) -> None:
        with self.lock:
            self.calls.append((kind, n))
        if self.delay:
            time.sleep(self.delay)

    def generate(self, prompts: list[str], size: int) -> list[Image.Image]:
        self._note("generate", len(prompts))
        return self.inner.generate(prompts, size)

    def edit(self, image, mask, prompt, n, size, outpaint=False):  # type: ignore[no-untyped-def]
        self._note("edit", n)
        return self.inner.edit(image, mask, prompt, n, size, outpaint=outpaint)

    def vary(self, image, n, size):  # type: ignore[no-untyped-def]
        self._note("vary", n)
        return self.inner.vary(image, n, size)


class FakeEngine:
    """No model at all: solid-colour images of the right size (for server plumbing tests)."""

    description = "fake"

    def __init__(self, max_size: int = 1024) -> None:
        self.max_size = max_size
        self.calls: list[tuple[str, Any]] = []
        self.outpaints: list[bool] = []  # each edit call's `outpaint`
        self.inputs: list[tuple[Image.Image, Image.Image | None]] = []  # each edit/vary call's image and mask

    def generate(self, prompts, size):  # type: ignore[no-untyped-def]
        self.calls.append(("generate", list(prompts)))
        return [Image.new("RGB", (size, size), (200, 10, 10)) for _ in prompts]

    def edit(self, image, mask, prompt, n, size, outpaint=False):  # type: ignore[no-untyped-def]
        self.calls.append(
            ("edit", (image.mode, image.size, None if mask is None else (mask.mode, mask.size), prompt, n))
        )
        self.outpaints.append(outpaint)
        self.inputs.append((image, mask))
        return [Image.new("RGB", (size, size), (10, 200, 10)) for _ in range(n)]

    def vary(self, image, n, size):  # type: ignore[no-untyped-def]
        self.calls.append(("vary", (image.mode, image.size, n)))
        self.inputs.append((image, None))
        return [Image.new("RGB", (size, size), (10, 10, 200)) for _ in range(n)]


class FakePolicy:
    """Refuses prompts containing a word, and uploads / outputs when told to; records every check."""

    def __init__(
        self, word: str = "forbidden", refuse_upload: bool = False, refuse_output: bool = False
    ) -> None:
        self.word = word
        self.refuse_upload = refuse_upload
        self.refuse_output = refuse_output
        self.checks: list[str] = []

    @staticmethod
    def _decision(refuse: bool, category: str) -> SimpleNamespace:
        if refuse:
            return SimpleNamespace(
                allowed=False, category=category, score=0.93, action="refuse", reason="test"
            )
        return SimpleNamespace(allowed=True, category=None, score=0.0, action="allow", reason="ok")

    def check_prompt(self, text: str) -> SimpleNamespace:
        self.checks.append("prompt")
        return self._decision(self.word in text, "test-category")

    def check_image(self, image: Image.Image, kind: str = "upload") -> SimpleNamespace:
        self.checks.append(kind)
        refuse = self.refuse_upload if kind == "upload" else self.refuse_output
        return self._decision(refuse, f"test-{kind}")


# ---------------------------------------------------------------------- images
def png_bytes(
    size: tuple[int, int] = (64, 64), mode: str = "RGBA", hole: bool = True, noise: bool = False
) -> bytes:
    """A PNG; RGBA ones get a fully transparent square in the middle (the area to edit)."""
    w, h = size
    if noise:
        arr = np.random.default_rng(0).integers(0, 256, (h, w, len(mode)), dtype=np.uint8)
        image = Image.fromarray(arr, mode)
    else:
        image = Image.new(mode, size, (90, 140, 200, 255)[: len(mode)] if len(mode) > 1 else 128)
    if hole and "A" in mode:
        box = Image.new(mode, (w // 2, h // 2), (0,) * len(mode))
        image.paste(box, (w // 4, h // 4))
    buf = io.BytesIO()
    image.save(buf, format="PNG")
    return buf.getvalue()


def decode(data: bytes) -> Image.Image:
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    image = Image.open(io.BytesIO(data))
    image.load()
    return image


def assert_error(
    exc: openai.APIStatusError,
    status: int,
    param: str | None,
    type_: str = "invalid_request_error",
    code: str | None = None,
    message: str | None = None,
) -> dict[str, Any]:
    assert exc.status_code == status, (exc.status_code, exc.body)
    body = exc.body
    assert isinstance(body, dict) and set(body) == {"message", "type", "param", "code"}, body
    assert body["type"] == type_ and body["param"] == param and body["code"] == code, body
    if message is not None:
        assert body["message"] == message, body["message"]
    return body
