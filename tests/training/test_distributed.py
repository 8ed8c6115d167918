"""`accelerate launch` with 2 CPU processes (gloo) trains exactly like 1 process with twice the batch."""

import json

import helpers as H
from helpers import assert_same_weights

from unclip.training.config import load_train_config
from unclip.training.trainer import train


def test_two_processes_equal_one_process_with_the_whole_batch(shapes_data, tmp_path):
    # CLIP is the hardest case: its contrastive loss sees the whole global batch through all_gather.
    steps = 3
    two = tmp_path / "two"
    cfg = H.clip_config(two, shapes_data, steps=steps, batch=8)
    # Some gradients are zero up to rounding (e.g. attention key biases); Adam's default eps would blow
    # their rounding noise up to full steps. A larger eps keeps the comparison about real gradients.
    cfg["optim"]["eps"] = 1e-3
    config = tmp_path / "run.json"
    config.write_text(json.dumps(cfg))
    # --multi_gpu is accelerate's torchrun launcher; without GPUs the trainer uses gloo on the CPU.
    proc = H.launch("clip", config, tmp_path, "--multi_gpu")
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "2 process(es) x micro-batch 4 x 1 accumulation = batch 8" in (two / "log.txt").read_text()

    one = tmp_path / "one"
    cfg["run_dir"] = str(one)
    train(load_train_config(cfg, "clip"))
    assert (one / "tokenizer" / "vocab.json").read_text() == (two / "tokenizer" / "vocab.json").read_text()
    name = f"step-{steps:08d}"
    assert_same_weights(one / "checkpoints" / name, two / "checkpoints" / name, atol=1e-5)
    losses = [
        [float(r.split(",")[1]) for r in (run / "metrics.csv").read_text().splitlines()[1:]]
        for run in (one, two)
    ]
    assert len(losses[0]) == steps and all(abs(a - b) < 1e-5 for a, b in zip(*losses)), losses
