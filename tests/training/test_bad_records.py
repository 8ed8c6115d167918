"""Bad records never stop a run: they are skipped, counted and logged; bad ones add nothing to the loss."""

import csv
import shutil

import helpers as H

from unclip.training.config import load_train_config
from unclip.training.trainer import train


def test_corrupt_and_tiny_images_are_skipped_and_counted(shapes_data, tmp_path):
    data = tmp_path / "data"
    shutil.copytree(shapes_data, data)
    (data / "red-circle.png").write_bytes(b"\x89PNG\r\n\x1a\n truncated")
    H.shape_image("blue", "circle", 8).save(data / "blue-circle.png")  # below the stage's minimum size
    (data / "green-circle.txt").write_text("")  # empty caption: left out while indexing
    run = tmp_path / "up"
    cfg = H.upsampler_config(run, data, steps=4, batch=7)  # 7 records: each appears in each step
    result = train(load_train_config(cfg, "upsampler"))
    assert result.step == 4
    with (run / "metrics.csv").open() as f:
        rows = list(csv.DictReader(f))
    assert rows[-1]["skipped"] == "2"
    log = (run / "log.txt").read_text()
    assert "7 records, skipped while indexing: 1 empty caption" in log
    assert "unreadable image" in log and "image too small" in log
    assert "skipped 2 bad record(s)" in log
