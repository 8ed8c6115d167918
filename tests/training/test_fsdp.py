"""`accelerate launch --use_fsdp --fsdp_version 2` with 2 CPU processes (gloo): FSDP2 trains exactly like
1 process with the whole batch, writes the same full checkpoints, and resumes from them exactly."""

import json

import helpers as H
import pytest
import torch
from helpers import assert_same_weights
from safetensors.torch import load_file

from unclip.training.config import load_train_config
from unclip.training.runs import load_trained
from unclip.training.sharding import fsdp_plugin
from unclip.training.trainer import train
from unclip.utils.config import ConfigError

# Every block its own FSDP unit (CLIP encoder layers, U-Net residual blocks) inside the root unit.
FSDP = ("--use_fsdp", "--fsdp_version", "2", "--fsdp_auto_wrap_policy", "TRANSFORMER_BASED_WRAP")


def losses(run):
    return [float(r.split(",")[1]) for r in (run / "metrics.csv").read_text().splitlines()[1:]]


def test_fsdp_two_processes_equal_one_process_with_the_whole_batch(shapes_data, tmp_path):
    # CLIP: its scalar logit_scale stays replicated (FSDP2 cannot shard 0-dim parameters) and its
    # contrastive loss gathers the features of both processes.
    steps = 3
    two = tmp_path / "two"
    cfg = H.clip_config(two, shapes_data, steps=steps, batch=8)
    cfg["optim"]["eps"] = 1e-3  # see test_distributed: keeps Adam from amplifying rounding noise
    config = tmp_path / "run.json"
    config.write_text(json.dumps(cfg))
    proc = H.launch("clip", config, tmp_path, *FSDP)
    assert proc.returncode == 0, proc.stderr[-3000:]
    log = (two / "log.txt").read_text()
    assert "FSDP: 3 unit(s) sharded over 2 processes; 1 scalar parameter(s) replicated" in log
    assert "2 process(es) x micro-batch 4 x 1 accumulation = batch 8" in log

    one = tmp_path / "one"
    cfg["run_dir"] = str(one)
    train(load_train_config(cfg, "clip"))
    name = f"step-{steps:08d}"
    assert_same_weights(one / "checkpoints" / name, two / "checkpoints" / name, atol=1e-5)
    # The checkpoint holds full (gathered) tensors in the unsharded format, optimizer state included.
    a, b = (load_file(str(run / "checkpoints" / name / "optimizer.safetensors")) for run in (one, two))
    assert a.keys() == b.keys() and all(
        a[k].shape == b[k].shape and torch.allclose(a[k], b[k], atol=1e-5) for k in a
    )
    assert all(abs(x - y) < 1e-5 for x, y in zip(losses(one), losses(two), strict=True))
    # What `unclip train export` loads: the EMA weights of the newest checkpoint.
    ema = load_file(str(two / "checkpoints" / name / "ema.safetensors"))
    assert all(torch.equal(v, ema[k]) for k, v in load_trained(two, "clip").state_dict().items() if k in ema)


def test_fsdp_resume_matches_an_uninterrupted_run(shapes_data, tmp_path):
    # The upsampler with a separate last-step U-Net (both run on every process), 2 accumulation steps and
    # sample grids (drawn from the gathered EMA weights): 2 steps, then a new launch resumes to 4.
    run = tmp_path / "fsdp"

    def config(run_dir, steps):
        cfg = H.upsampler_config(
            run_dir,
            shapes_data,
            steps=steps,
            batch=8,
            micro_batch_size=2,
            checkpoint_every=2,
            sample_every=2,
            sample_steps=2,
            num_samples=2,
        )
        cfg["upsampler"]["model"]["separate_last_step"] = True
        cfg["optim"]["eps"] = 1e-3
        return cfg

    path = tmp_path / "run.json"
    for steps, resume in ((2, False), (4, True)):
        path.write_text(json.dumps(config(run, steps)))
        proc = H.launch("upsampler", path, tmp_path, *FSDP, resume=resume)
        assert proc.returncode == 0, proc.stderr[-3000:]
    log = (run / "log.txt").read_text()
    assert "resuming from" in log and "steps 2 -> 4" in log and "x 2 accumulation = batch 8" in log
    assert (run / "samples" / "step-00000004.png").is_file()

    straight = tmp_path / "straight"
    train(load_train_config(config(straight, 4), "upsampler"))
    name = "step-00000004"
    assert_same_weights(run / "checkpoints" / name, straight / "checkpoints" / name, atol=1e-5)
    assert all(abs(x - y) < 1e-5 for x, y in zip(losses(run), losses(straight), strict=True))


@pytest.mark.parametrize(
    ("env", "precision", "message"),
    [
        ({"FSDP_VERSION": "1"}, "no", "FSDP version 1 is not supported.*--fsdp_version 2"),
        ({"FSDP_VERSION": "2"}, "fp16", 'mixed_precision = "fp16" is not supported with FSDP'),
        ({"FSDP_VERSION": "2", "FSDP_OFFLOAD_PARAMS": "true"}, "no", "fsdp_offload_params is not supported"),
        ({"ACCELERATE_USE_DEEPSPEED": "true"}, "no", "DeepSpeed is not supported"),
    ],
)
def test_unsupported_launches_are_refused_by_name(monkeypatch, env, precision, message):
    monkeypatch.setenv("ACCELERATE_USE_FSDP", "true")
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    with pytest.raises(ConfigError, match=message):
        fsdp_plugin(precision)


def test_no_fsdp_without_the_launcher_flag(monkeypatch):
    monkeypatch.delenv("ACCELERATE_USE_FSDP", raising=False)
    monkeypatch.delenv("ACCELERATE_USE_DEEPSPEED", raising=False)
    assert fsdp_plugin("bf16") is None
