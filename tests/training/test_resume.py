"""Never lose work: SIGTERM writes a checkpoint, a SIGKILLed run resumes from its last one, and the
interrupted run ends with the same weights as an uninterrupted one. Gradient accumulation gives the
same updates as one big batch."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import helpers as H
from helpers import assert_same_weights

from unclip.training.checkpoint import latest_checkpoint
from unclip.training.config import load_train_config
from unclip.training.trainer import train

ROOT = Path(__file__).resolve().parents[2]


def cli(config: Path, *extra: str) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.Popen(
        [sys.executable, "-m", "unclip.cli.main", "train", "upsampler", "--config", str(config), *extra],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )


def wait_for(predicate, proc, timeout=180.0):
    end = time.time() + timeout
    while time.time() < end:
        if predicate():
            return
        if proc.poll() is not None:
            raise AssertionError(f"training ended early (rc {proc.returncode}): {proc.stderr.read()}")
        time.sleep(0.01)
    proc.kill()
    raise AssertionError("timed out")


def metric_rows(run: Path) -> int:
    path = run / "metrics.csv"
    return max(0, len(path.read_text().splitlines()) - 1) if path.is_file() else 0


def test_sigterm_then_sigkill_then_resume_matches_an_uninterrupted_run(shapes_data, tmp_path):
    steps = 12
    run = tmp_path / "interrupted"
    cfg = H.upsampler_config(run, shapes_data, steps=steps, batch=4, checkpoint_every=6)
    config = tmp_path / "run.json"
    config.write_text(json.dumps(cfg))

    # 1. SIGTERM mid-run: the step finishes, a checkpoint is written, exit code 143.
    proc = cli(config)
    wait_for(lambda: metric_rows(run) >= 2, proc)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 143, err
    assert "stopped by SIGTERM" in err and "--resume" in err
    first = latest_checkpoint(run / "checkpoints")
    assert first is not None and 2 <= int(first.name.split("-")[1]) < 6

    # 2. Resume, then SIGKILL right after the step-6 checkpoint appears: no chance to clean up.
    proc = cli(config, "--resume")
    wait_for(lambda: (run / "checkpoints" / "step-00000006").is_dir(), proc)
    proc.kill()
    proc.wait()
    assert not (run / "checkpoints" / f"step-{steps:08d}").exists()

    # 3. Resume to the end.
    proc = cli(config, "--resume")
    _, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err
    assert "resuming from" in (run / "log.txt").read_text()

    reference = tmp_path / "straight"
    train(
        load_train_config(
            H.upsampler_config(reference, shapes_data, steps=steps, batch=4, checkpoint_every=6), "upsampler"
        )
    )
    assert_same_weights(
        run / "checkpoints" / f"step-{steps:08d}", reference / "checkpoints" / f"step-{steps:08d}"
    )
    # metrics.csv has every step exactly once despite the restarts.
    steps_logged = [int(line.split(",")[0]) for line in (run / "metrics.csv").read_text().splitlines()[1:]]
    assert steps_logged == list(range(1, steps + 1))


def test_accumulation_matches_one_big_batch(shapes_data, tmp_path):
    a, b = tmp_path / "big", tmp_path / "accumulated"
    for run, micro in ((a, 0), (b, 2)):
        cfg = H.upsampler_config(run, shapes_data, steps=3, batch=8, micro_batch_size=micro)
        cfg["optim"]["eps"] = 1e-3  # see test_distributed: keeps Adam from amplifying rounding noise
        train(load_train_config(cfg, "upsampler"))
    assert_same_weights(a / "checkpoints" / "step-00000003", b / "checkpoints" / "step-00000003", atol=1e-5)


def test_new_run_refuses_to_overwrite_checkpoints(shapes_data, tmp_path):
    import pytest

    from unclip.training.runs import RunError

    cfg = H.upsampler_config(tmp_path / "r", shapes_data, steps=1, batch=2)
    train(load_train_config(cfg, "upsampler"))
    with pytest.raises(RunError, match="already holds checkpoints: pass --resume"):
        train(load_train_config(cfg, "upsampler"))
    cfg["optim"]["lr"] = 0.5
    from unclip.utils.config import ConfigError

    with pytest.raises(ConfigError, match=r"cannot resume with a different config \(optim.lr"):
        train(load_train_config(cfg, "upsampler"), resume=True)


def test_resume_may_change_the_loss_weighting_and_records_it(shapes_data, tmp_path):
    """A curriculum: Min-SNR weighting early, plain epsilon MSE later (what the default decoder did)."""
    cfg = H.upsampler_config(tmp_path / "r", shapes_data, steps=1, batch=2)
    cfg["upsampler"]["min_snr_gamma"] = 5.0
    train(load_train_config(cfg, "upsampler"))
    cfg["upsampler"]["min_snr_gamma"] = 0.0
    cfg["train"]["steps"] = 2
    result = train(load_train_config(cfg, "upsampler"), resume=True)
    assert result.step == 2
    import json

    saved = json.loads((tmp_path / "r" / "config.json").read_text())
    assert saved["upsampler"]["min_snr_gamma"] == 0.0


def test_max_minutes_stops_with_a_checkpoint_that_resumes(shapes_data, tmp_path):
    """A time-limited job (a GPU lease, a SLURM slot): the loop stops after max_minutes, writes a
    checkpoint and reports it; --resume then continues to the configured step count."""
    run = tmp_path / "r"
    cfg = H.upsampler_config(run, shapes_data, steps=100000, batch=2, checkpoint_every=100000)
    cfg["train"]["max_minutes"] = 0.05  # 3 s
    config = tmp_path / "run.json"
    config.write_text(json.dumps(cfg))
    proc = cli(config)
    out, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err
    assert "max_minutes reached at step" in err and "--resume" in err
    assert out.strip() == str(run)  # like a finished run, it prints the run folder
    stopped = latest_checkpoint(run / "checkpoints")
    assert stopped is not None
    step = int(stopped.name.split("-")[1])
    assert 1 <= step < 100000
    cfg["train"]["max_minutes"] = 0.0
    cfg["train"]["steps"] = step + 2
    result = train(load_train_config(cfg, "upsampler"), resume=True)
    assert result.step == step + 2 and result.stopped_by is None
