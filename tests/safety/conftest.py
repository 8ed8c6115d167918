"""Shared fixtures for the content-policy tests: one default policy and real sample photos."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from unclip.safety import Policy


@pytest.fixture(scope="session")
def policy() -> Policy:
    return Policy.default()


@pytest.fixture(scope="session")
def skimage_data():
    return pytest.importorskip("skimage.data")


@pytest.fixture(scope="session")
def photos(skimage_data) -> dict[str, Image.Image]:
    """Real photos shipped with scikit-image (astronaut has a face; the others have none)."""
    return {
        name: Image.fromarray(getattr(skimage_data, name)())
        for name in ("astronaut", "chelsea", "coffee", "rocket")
    }


@pytest.fixture(scope="session")
def grace_hopper() -> Image.Image:
    cbook = pytest.importorskip("matplotlib.cbook")
    with cbook.get_sample_data("grace_hopper.jpg") as f:
        return Image.open(f).convert("RGB")


@pytest.fixture(scope="session")
def lfw(skimage_data) -> tuple[list[Image.Image], list[Image.Image]]:
    """skimage's LFW subset: 100 face crops and 100 non-face crops, 25x25 grayscale."""
    crops = [Image.fromarray((a * 255).round().astype(np.uint8)) for a in skimage_data.lfw_subset()]
    return crops[:100], crops[100:]
