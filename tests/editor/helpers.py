"""Small helpers for the editor tests: images in and out of the browser."""

from __future__ import annotations

import io
import time
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image


def save_png(array: np.ndarray, path: Path) -> Path:
    Image.fromarray(array).save(path, format="PNG")
    return path


def photo(name: str = "chelsea", size: int = 256) -> np.ndarray:
    """A scikit-image sample photo, centre-cropped to a square and resized with PIL to size x size RGB.
    (Not the astronaut for edits: the content policy refuses uploads with realistic faces.)"""
    from skimage import data

    image = Image.fromarray(getattr(data, name)())
    side = min(image.size)
    left, top = (image.width - side) // 2, (image.height - side) // 2
    square = image.crop((left, top, left + side, top + side))
    return np.asarray(square.resize((size, size), Image.Resampling.LANCZOS))


def read_png(path: str | Path) -> np.ndarray:
    with Image.open(path) as image:
        assert image.format == "PNG", image.format
        return np.asarray(image.convert("RGBA"))


def download(page: Any, click: Any) -> tuple[np.ndarray, str]:
    """Run `click()` (which starts a download) and return the downloaded PNG's RGBA pixels and file name."""
    with page.expect_download() as info:
        click()
    dl = info.value
    return read_png(dl.path()), dl.suggested_filename


def download_bytes(page: Any, click: Any) -> bytes:
    """Run `click()` (which starts a download) and return the downloaded file's bytes."""
    with page.expect_download() as info:
        click()
    with open(info.value.path(), "rb") as f:
        return f.read()


def png_pixels(data: bytes) -> np.ndarray:
    with Image.open(io.BytesIO(data)) as image:
        assert image.format == "PNG"
        return np.asarray(image.convert("RGBA"))


def wait_js(page: Any, function: str, arg: Any = None, timeout: float = 30.0) -> None:
    """Poll a JS function until it returns true. (Playwright's wait_for_function evaluates strings inside
    the page, which the server's Content-Security-Policy forbids; `page.evaluate` goes through DevTools.)"""
    deadline = time.monotonic() + timeout
    while not page.evaluate(function, arg):
        if time.monotonic() > deadline:
            raise AssertionError(f"not true within {timeout}s: {function}")
        time.sleep(0.05)


def all_images_loaded(page: Any, selector: str, count: int, size: int) -> None:
    wait_js(
        page,
        """([sel, count, size]) => {
            const images = [...document.querySelectorAll(sel)];
            return images.length === count && images.every((i) => i.complete && i.naturalWidth === size);
        }""",
        [selector, count, size],
    )
