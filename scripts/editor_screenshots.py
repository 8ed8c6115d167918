"""Screenshots of the browser editor for README.md and docs/EDITOR.md, from the default model with its real
sampling settings (`unclip serve` as a user starts it; not the tests' one-step noise).

    python scripts/editor_screenshots.py [--out docs/images] [--size 256]

Starts `unclip serve` on a free loopback port (the nudity check waived when nudenet is not installed),
drives a headless Chromium (Playwright with the system browser) through Generate, Edit and Canvas, and
writes editor-generate.png, editor-edit-mask.png, editor-edit-candidates.png, editor-outpaint.png and
editor-refusal.png. On 2 CPU cores at 256 px it takes a few minutes.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import numpy as np
from PIL import Image

PROMPT = "a red apple on a wooden table"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(port: int, data_dir: str) -> subprocess.Popen:
    cmd = [
        sys.executable,
        "-c",
        "import sys; from unclip.cli.main import main; sys.exit(main())",
        "serve",
        "--port",
        str(port),
        "--data-dir",
        data_dir,
    ]
    if importlib.util.find_spec("nudenet") is None:
        cmd += ["--waive-check", "nudity"]
    proc = subprocess.Popen(cmd, env=os.environ.copy())
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health", timeout=2).status_code == 200:
                return proc
        except httpx.HTTPError:
            pass
        if proc.poll() is not None:
            raise SystemExit(f"unclip serve exited with {proc.returncode}")
        time.sleep(1)
    proc.terminate()
    raise SystemExit("unclip serve did not answer /health within 300 s")


def sample_photo(path: Path, size: int) -> Path:
    from skimage import data

    image = Image.fromarray(data.chelsea())
    side = min(image.size)
    left = (image.width - side) // 2
    image.crop((left, 0, left + side, side)).resize((size, size), Image.Resampling.LANCZOS).save(path)
    return path


def wait(page, function: str, timeout: float = 900.0) -> None:
    deadline = time.monotonic() + timeout
    while not page.evaluate(function):
        if time.monotonic() > deadline:
            raise SystemExit(f"not true within {timeout}s: {function}")
        time.sleep(0.2)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", default="docs/images")
    parser.add_argument("--size", type=int, default=256, choices=[256, 512, 1024])
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp())
    port = free_port()
    server = start_server(port, str(tmp / "data"))
    browser_path = os.environ.get("UNCLIP_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(
                executable_path=browser_path, headless=True, args=["--no-sandbox", "--disable-gpu"]
            )
            context = browser.new_context(viewport={"width": 1280, "height": 800}, accept_downloads=True)
            context.add_init_script(
                f'localStorage.setItem("unclip.settings", JSON.stringify({{n: 4, size: {args.size}}}));'
            )
            page = context.new_page()
            page.set_default_timeout(900_000)
            page.goto(f"http://127.0.0.1:{port}/")
            page.wait_for_selector("body[data-ready='1']", state="attached")

            page.fill("#gen-prompt", PROMPT)
            page.click("#gen-submit")
            wait(
                page,
                "() => document.querySelectorAll('#gen-results img').length === 4 && "
                "[...document.querySelectorAll('#gen-results img')].every((i) => i.complete && i.naturalWidth)",
            )
            page.locator("#gen-results .result").nth(0).hover()
            page.wait_for_timeout(300)
            page.screenshot(path=str(out / "editor-generate.png"))

            page.click(".tab[data-tab=edit]")
            page.set_input_files("#edit-file", str(sample_photo(tmp / "cat.png", args.size)))
            page.click("#crop-ok")
            box = page.locator("#edit-canvas").bounding_box()
            page.mouse.move(box["x"] + 0.3 * box["width"], box["y"] + 0.12 * box["height"])
            page.mouse.down()
            for fx in np.linspace(0.3, 0.75, 8):
                page.mouse.move(box["x"] + fx * box["width"], box["y"] + 0.15 * box["height"], steps=4)
            page.mouse.up()
            page.fill("#edit-prompt", "a cat wearing a red hat")
            page.mouse.move(0, 0)
            page.screenshot(path=str(out / "editor-edit-mask.png"))
            page.click("#edit-submit")
            wait(page, "() => document.querySelectorAll('#edit-candidate-list img').length === 4")
            page.locator("#edit-candidate-list .thumb-button").nth(1).click()
            page.screenshot(path=str(out / "editor-edit-candidates.png"))
            page.click("#edit-keep")

            page.click(".tab[data-tab=outpaint]")
            page.set_input_files("#op-file", str(sample_photo(tmp / "cat.png", args.size)))
            page.fill("#op-prompt", "a cat lying on a sofa in a living room")
            page.click("#op-submit")
            wait(page, "() => unclipEditor.tabs.outpaint.candidates !== null")
            page.click("#op-accept")
            page.click("#op-fit")
            page.screenshot(path=str(out / "editor-outpaint.png"))

            page.click(".tab[data-tab=generate]")
            page.fill("#gen-prompt", "a nude woman posing on a bed")
            page.click("#gen-submit")
            page.wait_for_selector("#message[data-kind=policy]")
            page.screenshot(path=str(out / "editor-refusal.png"))
            browser.close()
    finally:
        server.terminate()
        server.wait(timeout=60)
        shutil.rmtree(tmp, ignore_errors=True)
    print(f"screenshots written to {out}/ (default model, its own sampling settings, {args.size} px)")


if __name__ == "__main__":
    main()
