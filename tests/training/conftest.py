import sys
from pathlib import Path

import pytest
import torch

sys.path.insert(0, str(Path(__file__).parent))
import helpers as H

from unclip.training.config import load_train_config
from unclip.training.trainer import train


@pytest.fixture(autouse=True)
def _keep_threads():
    """train() honours train.threads; put the test process's setting back afterwards."""
    n = torch.get_num_threads()
    yield
    torch.set_num_threads(n)


@pytest.fixture(scope="session")
def shapes_data(tmp_path_factory) -> Path:
    """8 captioned 64 px images (4 colours x circle/square) with an ATTRIBUTION.md."""
    root = H.make_folder(tmp_path_factory.mktemp("data") / "shapes", size=64)
    (root / "ATTRIBUTION.md").write_text("# Attribution\n\nTest shapes, drawn by the test suite (CC0).\n")
    return root


@pytest.fixture(scope="session")
def clip_run(shapes_data, tmp_path_factory) -> Path:
    """A CLIP trained to separate the 8 captions (shared by the prior/decoder tests)."""
    run = tmp_path_factory.mktemp("runs") / "clip"
    cfg = H.clip_config(run, shapes_data, steps=30, batch=8)
    cfg["optim"]["lr"] = 2e-3
    train(load_train_config(cfg, "clip"))
    return run
