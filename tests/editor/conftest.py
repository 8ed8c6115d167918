"""Fixtures for the editor's end-to-end tests: a real `unclip serve` app (the embedded default model, one
sampling step per stage, 256 px) on a loopback port, driven by a real headless Chromium through Playwright.

Needs Debian's `chromium` (or UNCLIP_CHROMIUM=/path/to/chrome) and `pip install playwright`; the tests
skip with the reason when either is missing. Never `playwright install`: the system Chromium is used.
Screenshots go to a temporary folder, or to UNCLIP_EDITOR_SCREENSHOTS when it is set.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

import pytest
from server.live import FASTEST, WAIVE, LiveServer  # tests/server/live.py: the servers' own test helpers

from unclip.server.app import FROM_SETTINGS
from unclip.server.engine import UnclipEngine
from unclip.server.settings import ServerSettings

CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    # few processes: 2 shared cores
    "--renderer-process-limit=1",
    "--disable-extensions",
    "--disable-features=Translate,MediaRouter,OptimizationHints",
]
VIEWPORT = {"width": 1280, "height": 800}
PLAYWRIGHT_MISSING = "editor tests need Playwright: pip install playwright (never `playwright install`)"
API_KEY = "sk-editor-test"
# every test starts at 4 images of 256 px unless it changes the settings itself
INIT_SCRIPT = """
if (!localStorage.getItem("unclip.settings"))
  localStorage.setItem("unclip.settings", JSON.stringify({n: 4, size: 256}));
"""


def chromium_path() -> str | None:
    for candidate in (
        os.environ.get("UNCLIP_CHROMIUM"),
        shutil.which("chromium"),
        "/usr/bin/chromium",
        shutil.which("chromium-browser"),
        shutil.which("google-chrome"),
    ):
        if candidate and os.path.isfile(candidate) and os.access(candidate, os.X_OK):
            return candidate
    return None


@pytest.fixture(scope="package")  # closed when the editor tests are done, not at session end
def browser():
    try:
        from playwright.sync_api import expect, sync_playwright
    except ImportError:
        pytest.skip(PLAYWRIGHT_MISSING)
    expect.set_options(timeout=20_000)  # 2 shared cores: the UI can lag behind by seconds
    executable = chromium_path()
    if executable is None:
        pytest.skip("editor tests need Chromium: apt-get install -y chromium (or set UNCLIP_CHROMIUM)")
    manager = sync_playwright().start()
    try:
        browser = manager.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS, headless=True)
    except Exception:
        manager.stop()
        raise
    yield browser
    browser.close()
    manager.stop()


class RecordingEngine:
    """The engine, recording what each edit call received (the browser's upload, as the server
    decoded it). `run`: the seed, progress callback and partial images of a streamed request."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.edits: list[dict[str, Any]] = []

    def __getattr__(self, name: str) -> Any:  # max_size, description, supports, generate, vary
        return getattr(self.inner, name)

    def edit(self, image, mask, prompt, n, size, outpaint=False, **run):  # type: ignore[no-untyped-def]
        self.edits.append(
            {
                "image": image.copy(),
                "mask": mask,
                "prompt": prompt,
                "n": n,
                "size": size,
                "outpaint": outpaint,
            }
        )
        return self.inner.edit(image, mask, prompt, n, size, outpaint=outpaint, **run)


@pytest.fixture(scope="package")
def editor_engine():
    """The embedded default model (the one a user of `unclip serve` gets), one sampling step per stage."""
    from unclip.pipeline.unclip_pipeline import UnCLIP, default_model_path

    pipe = UnCLIP.from_pretrained(default_model_path(), device="cpu")
    stage_settings = ServerSettings(steps_preset=FASTEST).effective_stage_settings()
    return RecordingEngine(UnclipEngine(pipe, stage_settings, "default"))


def _server(engine: Any, tmp_path_factory: Any, **overrides: Any) -> LiveServer:
    settings = ServerSettings(
        steps_preset=FASTEST,
        data_dir=str(tmp_path_factory.mktemp("data")),
        default_size="256x256",
        waive_checks=WAIVE,
        **overrides,
    )
    return LiveServer(settings, engine, FROM_SETTINGS).start()


@pytest.fixture(scope="package")
def editor_server(browser, editor_engine, tmp_path_factory):
    """The real app, the real content policy, no API keys."""
    server = _server(editor_engine, tmp_path_factory)
    yield server
    server.stop()


@pytest.fixture
def keyed_server(browser, editor_engine, tmp_path_factory):
    """The same, but every /v1 request needs `Authorization: Bearer sk-editor-test`."""
    server = _server(editor_engine, tmp_path_factory, api_keys=[API_KEY])
    yield server
    server.stop()


@pytest.fixture(scope="session")
def shots_dir(tmp_path_factory) -> Path:
    wanted = os.environ.get("UNCLIP_EDITOR_SCREENSHOTS")
    path = Path(wanted) if wanted else tmp_path_factory.mktemp("editor-screenshots")
    path.mkdir(parents=True, exist_ok=True)
    return path


@pytest.fixture
def shot(shots_dir):
    def take(page: Any, name: str) -> Path:
        path = shots_dir / f"{name}.png"
        page.screenshot(path=str(path))
        return path

    return take


@pytest.fixture
def new_page(browser):
    """new_page(server) -> a fresh browser context's page at the editor, ready; page errors fail the test."""
    contexts: list[Any] = []
    errors: list[str] = []

    def make(server: LiveServer, init_script: str = INIT_SCRIPT) -> Any:
        context = browser.new_context(viewport=VIEWPORT, accept_downloads=True)
        context.set_default_timeout(30_000)
        contexts.append(context)
        if init_script:
            context.add_init_script(init_script)
        page = context.new_page()
        page.on("pageerror", lambda e: errors.append(f"page error: {e}"))
        page.on("console", lambda m: m.type == "error" and errors.append(f"console.error: {m.text}"))
        page.goto(server.url + "/")
        wait_ready(page)
        return page

    yield make
    for context in contexts:
        context.close()
    # a 4xx answer is logged by Chromium as a failed resource load; the editor's own errors are not expected
    real = [e for e in errors if "Failed to load resource" not in e]
    assert not real, real


def wait_ready(page: Any) -> None:
    page.wait_for_selector("body[data-ready='1']", state="attached")
