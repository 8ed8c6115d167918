"""Tiny datasets and configs for the training tests: coloured shapes with captions, tiny networks."""

from __future__ import annotations

import copy
import os
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import torch
from PIL import Image, ImageDraw
from safetensors.torch import load_file

from unclip.models.clip import ClipConfig
from unclip.models.decoder import DecoderConfig
from unclip.models.prior import PriorConfig
from unclip.models.unet import UNetConfig
from unclip.models.upsampler import UpsamplerConfig

ROOT = Path(__file__).resolve().parents[2]  # the repository
COLOURS = {"red": (220, 30, 30), "green": (30, 180, 60), "blue": (30, 60, 220), "yellow": (230, 210, 40)}
SHAPES = ("circle", "square")


def shape_image(colour: str, shape: str, size: int) -> Image.Image:
    im = Image.new("RGB", (size, size), (255, 255, 255))
    d = ImageDraw.Draw(im)
    box = (size // 5, size // 5, size - size // 5, size - size // 5)
    (d.ellipse if shape == "circle" else d.rectangle)(box, fill=COLOURS[colour])
    return im


def shape_records(n: int | None = None) -> list[tuple[str, str, str]]:
    """(key, colour, shape) for every combination, repeated to n records."""
    base = [(f"{c}-{s}", c, s) for c in COLOURS for s in SHAPES]
    if n is None:
        return base
    return [(f"{k}-{i}", c, s) for i, (k, c, s) in zip(range(n), base * (n // len(base) + 1))]


def make_folder(root: Path, size: int = 32, n: int | None = None) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    for key, colour, shape in shape_records(n):
        shape_image(colour, shape, size).save(root / f"{key}.png")
        (root / f"{key}.txt").write_text(f"a {colour} {shape}\n")
    return root


CLIP_MODEL: dict[str, Any] = {
    "embed_dim": 32,
    "text_width": 32,
    "text_layers": 1,
    "text_heads": 2,
    "text_max_tokens": 8,
    "vision_width": 32,
    "vision_layers": 1,
    "vision_heads": 2,
    "image_size": 32,
    "patch_size": 8,
}
PRIOR_MODEL: dict[str, Any] = {
    "clip_dim": 32,
    "text_width": 32,
    "max_text_tokens": 8,
    "width": 64,
    "layers": 2,
    "heads": 2,
}
DECODER_MODEL: dict[str, Any] = {
    "clip_dim": 32,
    "text_width": 32,
    "image_size": 16,
    "context_tokens": 2,
    "unet": {
        "in_channels": 3,
        "out_channels": 6,
        "channels": [16, 32],
        "blocks_per_level": 1,
        "attention_levels": [False, True],
        "mid_attention": False,
        "head_channels": 16,
        "context_dim": 32,
        "groups": 8,
    },
}
UPSAMPLER_MODEL: dict[str, Any] = {
    "low_res": 16,
    "high_res": 64,
    "unet": {"in_channels": 6, "out_channels": 3, "channels": [8, 16], "blocks_per_level": 1, "groups": 8},
}


def base_config(run_dir: Path, data: Path, steps: int = 4, batch: int = 4, **train: Any) -> dict[str, Any]:
    return {
        "run_dir": str(run_dir),
        "data": {"source": str(data), "num_workers": 0},
        "train": {
            "steps": steps,
            "batch_size": batch,
            "log_every": 1,
            "checkpoint_every": steps,
            "sample_every": 0,
            "progress": False,
            "tensorboard": False,
            "ema_decay": 0.99,
            "threads": 1,
            **train,
        },
        "optim": {"lr": 1e-3, "warmup_steps": 2},
    }


def clip_config(run_dir: Path, data: Path, **kw: Any) -> dict[str, Any]:
    cfg = base_config(run_dir, data, **kw)
    cfg["clip"] = {"model": copy.deepcopy(CLIP_MODEL), "vocab_size": 600, "tokenizer_min_frequency": 1}
    return cfg


def prior_config(run_dir: Path, data: Path, clip: Path, **kw: Any) -> dict[str, Any]:
    cfg = base_config(run_dir, data, **kw)
    cfg["prior"] = {"model": copy.deepcopy(PRIOR_MODEL), "clip": str(clip)}
    return cfg


def decoder_config(run_dir: Path, data: Path, clip: Path, **kw: Any) -> dict[str, Any]:
    cfg = base_config(run_dir, data, **kw)
    cfg["decoder"] = {"model": copy.deepcopy(DECODER_MODEL), "clip": str(clip)}
    return cfg


def upsampler_config(run_dir: Path, data: Path, **kw: Any) -> dict[str, Any]:
    cfg = base_config(run_dir, data, **kw)
    cfg["upsampler"] = {"model": copy.deepcopy(UPSAMPLER_MODEL)}
    return cfg


def check_models() -> None:
    """The dicts above are valid component configs."""
    ClipConfig.from_dict(CLIP_MODEL)
    PriorConfig.from_dict(PRIOR_MODEL)
    DecoderConfig.from_dict(DECODER_MODEL)
    UpsamplerConfig.from_dict(UPSAMPLER_MODEL)
    UNetConfig.from_dict(DECODER_MODEL["unet"])


def assert_same_weights(a: Path, b: Path, atol=1e-6):
    for name in ("model.safetensors", "ema.safetensors"):
        x, y = load_file(str(a / name)), load_file(str(b / name))
        assert x.keys() == y.keys()
        for k in x:
            assert torch.allclose(x[k], y[k], atol=atol, rtol=1e-5), (name, k, (x[k] - y[k]).abs().max())


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def launch(
    stage: str, config: Path, tmp: Path, *accelerate_args: str, processes: int = 2, resume: bool = False
) -> subprocess.CompletedProcess:
    """`accelerate launch` `processes` CPU processes (gloo) running `unclip train STAGE --config CONFIG`."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1", "HF_HOME": str(tmp / "hf")}
    command = [
        sys.executable,
        "-m",
        "accelerate.commands.launch",
        *accelerate_args,
        "--num_processes",
        str(processes),
        "--num_machines",
        "1",
        "--mixed_precision",
        "no",
        "--dynamo_backend",
        "no",
        "--main_process_port",
        str(free_port()),
        "-m",
        "unclip.cli.main",
        "train",
        stage,
        "--config",
        str(config),
        *(["--resume"] if resume else []),
    ]
    return subprocess.run(command, capture_output=True, text=True, env=env, timeout=600, check=False)
