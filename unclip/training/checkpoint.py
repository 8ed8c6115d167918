"""Checkpoints: safetensors for every tensor, JSON for everything else; nothing is pickled.

```
RUN/checkpoints/step-00001000/
  model.safetensors       # the live weights and buffers
  ema.safetensors         # the EMA weights (parameters only)
  optimizer.safetensors   # AdamW state flattened to "state.<param>.<name>" tensors
  rng.safetensors         # torch CPU (and CUDA) generator states
  state.json              # step, optimizer param groups, grad scaler, EMA count, data fingerprint, python/numpy RNG
```

A checkpoint is written into a temporary folder and renamed into place, so `step-*` folders are always
complete: a run killed at any moment resumes from the newest one. The data position is the step
itself (see :mod:`unclip.data.sampler`) and the learning rate is a function of the step, so nothing
else is needed to continue exactly.
"""

from __future__ import annotations

import json
import os
import random
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from unclip.errors import UnclipError

_STEP_DIR = re.compile(r"^step-(\d+)$")


class CheckpointError(UnclipError):
    """A checkpoint is missing or unreadable, or does not belong to this run."""


@dataclass
class CheckpointState:
    step: int
    ema_updates: int = 0
    data_fingerprint: str = ""
    param_groups: list[dict[str, Any]] = field(default_factory=list)
    optimizer_scalars: dict[str, dict[str, Any]] = field(default_factory=dict)
    scaler: dict[str, Any] | None = None
    python_rng: Any = None
    numpy_rng: Any = None
    extra: dict[str, Any] = field(default_factory=dict)


# ---------------------------------------------------------------------------- optimizer state
def flatten_optimizer(
    state: dict[str, Any],
) -> tuple[dict[str, torch.Tensor], list[dict[str, Any]], dict[str, dict[str, Any]]]:
    """torch optimizer state_dict -> (tensors, param_groups, non-tensor per-param values)."""
    tensors: dict[str, torch.Tensor] = {}
    scalars: dict[str, dict[str, Any]] = {}
    for pid, values in state["state"].items():
        for name, value in values.items():
            if isinstance(value, torch.Tensor):
                tensors[f"state.{pid}.{name}"] = value.detach().cpu().contiguous()
            else:
                scalars.setdefault(str(pid), {})[name] = value
    groups = [
        {k: (list(v) if isinstance(v, tuple) else v) for k, v in g.items()} for g in state["param_groups"]
    ]
    return tensors, groups, scalars


def unflatten_optimizer(
    tensors: dict[str, torch.Tensor], groups: list[dict[str, Any]], scalars: dict[str, dict[str, Any]]
) -> dict[str, Any]:
    state: dict[int, dict[str, Any]] = {}
    for key, value in tensors.items():
        _, pid, name = key.split(".", 2)
        state.setdefault(int(pid), {})[name] = value
    for pid, values in scalars.items():
        state.setdefault(int(pid), {}).update(values)
    param_groups = [{k: (tuple(v) if k == "betas" else v) for k, v in g.items()} for g in groups]
    return {"state": state, "param_groups": param_groups}


# ---------------------------------------------------------------------------- RNG
def rng_tensors() -> dict[str, torch.Tensor]:
    out = {"torch_cpu": torch.get_rng_state()}
    if torch.cuda.is_available():
        for i, s in enumerate(torch.cuda.get_rng_state_all()):
            out[f"torch_cuda_{i}"] = s
    return out


def restore_rng(tensors: dict[str, torch.Tensor], state: CheckpointState) -> None:
    torch.set_rng_state(tensors["torch_cpu"])
    if torch.cuda.is_available():
        cuda = [tensors[k] for k in sorted(tensors) if k.startswith("torch_cuda_")]
        if len(cuda) == torch.cuda.device_count():
            torch.cuda.set_rng_state_all(cuda)
    if state.python_rng is not None:
        version, internal, gauss = state.python_rng
        random.setstate((version, tuple(internal), gauss))
    if state.numpy_rng is not None:
        kind, keys, pos, has_gauss, gauss = state.numpy_rng
        np.random.set_state((kind, np.array(keys, dtype=np.uint32), pos, has_gauss, gauss))


def python_rng_json() -> Any:
    version, internal, gauss = random.getstate()
    return [version, list(internal), gauss]


def numpy_rng_json() -> Any:
    kind, keys, pos, has_gauss, gauss = np.random.get_state()
    return [kind, keys.tolist(), int(pos), int(has_gauss), float(gauss)]  # type: ignore[attr-defined]


# ---------------------------------------------------------------------------- files
def step_dir_name(step: int) -> str:
    return f"step-{step:08d}"


def _fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def save_checkpoint(
    directory: Path,
    state: CheckpointState,
    model: dict[str, torch.Tensor],
    ema: dict[str, torch.Tensor] | None,
    optimizer: dict[str, torch.Tensor],
    keep: int = 0,
) -> Path:
    """Write checkpoint `state.step` under `directory` atomically; prune to the newest `keep` (0: all)."""
    directory.mkdir(parents=True, exist_ok=True)
    final = directory / step_dir_name(state.step)
    tmp = directory / f".tmp-{final.name}-{os.getpid()}"
    if tmp.exists():
        shutil.rmtree(tmp)
    tmp.mkdir()
    files = {"model.safetensors": model, "optimizer.safetensors": optimizer, "rng.safetensors": rng_tensors()}
    if ema is not None:
        files["ema.safetensors"] = ema
    for name, tensors in files.items():
        save_file({k: v.detach().cpu().contiguous() for k, v in tensors.items()}, str(tmp / name))
    (tmp / "state.json").write_text(json.dumps(state.__dict__, indent=1) + "\n")
    for name in [*files, "state.json"]:
        with open(tmp / name, "rb") as f:
            os.fsync(f.fileno())
    if final.exists():  # the same step saved again (e.g. a signal right after a scheduled save)
        old = directory / f".old-{final.name}-{os.getpid()}"
        os.replace(final, old)
        os.replace(tmp, final)
        shutil.rmtree(old, ignore_errors=True)
    else:
        os.replace(tmp, final)
    _fsync_dir(directory)
    if keep > 0:
        for old_dir in list_checkpoints(directory)[:-keep]:
            shutil.rmtree(old_dir, ignore_errors=True)
    return final


def list_checkpoints(directory: Path) -> list[Path]:
    """Complete checkpoints, oldest first."""
    if not directory.is_dir():
        return []
    found = []
    for p in directory.iterdir():
        m = _STEP_DIR.match(p.name)
        if m and (p / "state.json").is_file():
            found.append((int(m.group(1)), p))
    return [p for _, p in sorted(found)]


def latest_checkpoint(directory: Path) -> Path | None:
    found = list_checkpoints(directory)
    return found[-1] if found else None


def _load(path: Path) -> dict[str, torch.Tensor]:
    if not path.is_file():
        raise CheckpointError(f"{path}: missing")
    try:
        return load_file(str(path))
    except (SafetensorError, OSError) as e:
        raise CheckpointError(f"{path}: unreadable ({e})") from e


@dataclass
class LoadedCheckpoint:
    path: Path
    state: CheckpointState
    model: dict[str, torch.Tensor]
    ema: dict[str, torch.Tensor] | None
    optimizer: dict[str, torch.Tensor]
    rng: dict[str, torch.Tensor]


def load_checkpoint(path: Path, with_training_state: bool = True) -> LoadedCheckpoint:
    try:
        state = CheckpointState(**json.loads((path / "state.json").read_text()))
    except (OSError, json.JSONDecodeError, TypeError) as e:
        raise CheckpointError(f"{path / 'state.json'}: unreadable ({e})") from e
    ema = _load(path / "ema.safetensors") if (path / "ema.safetensors").is_file() else None
    if not with_training_state:
        return LoadedCheckpoint(path, state, _load(path / "model.safetensors"), ema, {}, {})
    return LoadedCheckpoint(
        path,
        state,
        _load(path / "model.safetensors"),
        ema,
        _load(path / "optimizer.safetensors"),
        _load(path / "rng.safetensors"),
    )
