"""Run folders, and loading trained components from a run folder or a model directory.

```
RUN/
  config.json        # the training config, as loaded (all defaults filled in)
  run.json           # stage, component name and the exact component config (e.g. the resolved ClipConfig)
  tokenizer/         # CLIP runs: the tokenizer trained on the captions
  clip.json          # prior/decoder runs: which CLIP (sha256 of its weights) the run was conditioned on
  checkpoints/step-*/ metrics.csv  samples/  log.txt  ATTRIBUTION.md
```
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch
from torch import nn

from unclip.cascade.container import COMPONENTS
from unclip.cascade.model_dir import load_component, read_index
from unclip.errors import ModelFormatError, UnclipError
from unclip.models.clip import ClipModel
from unclip.models.tokenizer import load_tokenizer
from unclip.training.checkpoint import latest_checkpoint, load_checkpoint
from unclip.utils.config import Config, ConfigError

if TYPE_CHECKING:
    from unclip.models.tokenizer import ClipTokenizer


class RunError(UnclipError):
    """A run folder is missing, incomplete or of the wrong stage."""


@dataclass
class RunDir:
    path: Path

    @property
    def checkpoints(self) -> Path:
        return self.path / "checkpoints"

    @property
    def samples(self) -> Path:
        return self.path / "samples"

    @property
    def tokenizer(self) -> Path:
        return self.path / "tokenizer"

    def read_json(self, name: str) -> dict[str, Any]:
        path = self.path / name
        if not path.is_file():
            raise RunError(f"{path}: missing ({self.path} is not a finished unclip training run?)")
        try:
            return json.loads(path.read_text())
        except json.JSONDecodeError as e:
            raise RunError(f"{path}: not valid JSON ({e})") from e

    def write_json(self, name: str, data: dict[str, Any]) -> None:
        self.path.mkdir(parents=True, exist_ok=True)
        tmp = self.path / f".{name}.tmp"
        tmp.write_text(json.dumps(data, indent=2) + "\n")
        tmp.replace(self.path / name)

    def component(self) -> tuple[str, Config]:
        """(component name, its exact config) of the network this run trains."""
        info = self.read_json("run.json")
        name = info.get("component")
        if name not in COMPONENTS:
            raise RunError(f"{self.path / 'run.json'}: unknown component {name!r}")
        try:
            config = COMPONENTS[name][0].from_dict(info["model"], where=f"{self.path / 'run.json'}.model")
        except (KeyError, ConfigError) as e:
            raise RunError(f"{self.path / 'run.json'}: {e}") from e
        return name, config


def is_model_dir(path: Path) -> bool:
    return (path / "model_index.json").is_file()


def weights_fingerprint(state: dict[str, torch.Tensor]) -> str:
    h = hashlib.sha256()
    for key in sorted(state):
        t = state[key].detach().cpu().contiguous()
        h.update(key.encode() + str(t.dtype).encode() + str(tuple(t.shape)).encode())
        h.update(t.reshape(-1).view(torch.uint8).numpy().tobytes() if t.numel() else b"")
    return h.hexdigest()


def load_trained(path: str | Path, component: str, weights: str = "ema") -> nn.Module:
    """A trained network from a run folder (its newest checkpoint; `weights` "ema" or "raw") or from a
    model directory (component `component`, e.g. "decoder"; runs may have trained an `_inpaint` one)."""
    path = Path(path)
    if is_model_dir(path):
        index = read_index(path, complete=False)
        if component not in index.components:
            raise ModelFormatError(f"{path}: model directory has no {component!r} component")
        return load_component(path, component, index.components[component])
    if not path.is_dir():
        raise RunError(f"{path}: neither a training run folder nor a model directory")
    run = RunDir(path)
    name, config = run.component()
    base = name.removesuffix("_inpaint")
    if base.split("_")[0] != component.removesuffix("_inpaint").split("_")[0]:
        raise RunError(f"{path}: this run trained a {name}, not a {component}")
    ckpt_dir = latest_checkpoint(run.checkpoints)
    if ckpt_dir is None:
        raise RunError(f"{path}: no checkpoint yet (train first)")
    ckpt = load_checkpoint(ckpt_dir, with_training_state=False)
    module = COMPONENTS[name][1](config)
    state = dict(ckpt.model)
    if weights == "ema":
        if ckpt.ema is None:
            raise RunError(f"{ckpt_dir}: no EMA weights")
        state.update(ckpt.ema)
    missing, unexpected = module.load_state_dict(state, strict=False)
    if missing or unexpected:
        raise RunError(
            f"{ckpt_dir}: weights do not match run.json (missing {missing[:3]}, unexpected {unexpected[:3]})"
        )
    return module


def load_clip(path: str | Path) -> tuple[ClipModel, ClipTokenizer]:
    """CLIP (EMA weights) and its tokenizer from a CLIP run folder or a model directory."""
    path = Path(path)
    clip = load_trained(path, "clip")
    assert isinstance(clip, ClipModel)
    tokenizer_dir = path / "tokenizer"
    if is_model_dir(path):
        tokenizer_dir = path / read_index(path, complete=False).tokenizer
    return clip, load_tokenizer(tokenizer_dir, max_length=clip.config.text_max_tokens)
