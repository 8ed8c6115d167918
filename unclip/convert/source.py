"""Where converted weights come from: a diffusers-layout directory on disk, or modules in memory.

A diffusers pipeline directory has one folder per component (`prior/`, `decoder/`, `text_encoder/`,
`tokenizer/`, `prior_scheduler/`, ...) holding a JSON config (`config.json`, or
`scheduler_config.json` for schedulers) and weights: `diffusion_pytorch_model.safetensors` (diffusers)
or `model.safetensors` (transformers), a `.bin` of either name (read with `torch.load(...,
weights_only=True)`, never unpickled), or shards listed in a `*.index.json`; `.fp16.` variants are
used when they are the only weights present.
"""

from __future__ import annotations

import json
import pickle
from abc import ABC, abstractmethod
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file

from unclip.errors import ModelFormatError
from unclip.models.tokenizer import ClipTokenizer, load_tokenizer

StateDict = dict[str, torch.Tensor]
Json = dict[str, Any]

_STEMS = ("diffusion_pytorch_model", "model", "pytorch_model")
_CONFIG_NAMES = ("config.json", "scheduler_config.json", "preprocessor_config.json")


class KarloSource(ABC):
    """A set of diffusers/transformers components with their configs and weights."""

    label: str

    @abstractmethod
    def has(self, component: str) -> bool:
        """Whether the component (folder) is present."""

    @abstractmethod
    def config(self, component: str) -> tuple[Json, str]:
        """(config dict, where it was read from, for error messages)."""

    @abstractmethod
    def weights(self, component: str) -> tuple[StateDict, str]:
        """(state dict, where it was read from, for error messages)."""

    @abstractmethod
    def tokenizer(self, max_length: int) -> tuple[ClipTokenizer, Json]:
        """(the CLIP tokenizer, its tokenizer_config.json or {})."""


class DiffusersDir(KarloSource):
    """A diffusers pipeline directory, e.g. a download of `kakaobrain/karlo-v1-alpha`."""

    def __init__(self, root: str | Path):
        self.root = Path(root)
        self.label = str(self.root)
        if not self.root.is_dir():
            raise ModelFormatError(f"{self.root}: directory not found")

    def has(self, component: str) -> bool:
        folder = self.root / component
        return folder.is_dir() and any(
            (folder / n).is_file() for n in (*_CONFIG_NAMES, "vocab.json", "tokenizer.json")
        )

    def _folder(self, component: str) -> Path:
        folder = self.root / component
        if not folder.is_dir():
            raise ModelFormatError(f"{folder}: component folder missing")
        return folder

    def config(self, component: str) -> tuple[Json, str]:
        folder = self._folder(component)
        for name in _CONFIG_NAMES:
            path = folder / name
            if path.is_file():
                return _read_json(path), str(path)
        raise ModelFormatError(f"{folder}: no {' / '.join(_CONFIG_NAMES)} found")

    def weights(self, component: str) -> tuple[StateDict, str]:
        folder = self._folder(component)
        for variant in ("", ".fp16"):
            for stem in _STEMS:
                for ext in ("safetensors", "bin"):
                    single = folder / f"{stem}{variant}.{ext}"
                    if single.is_file():
                        return _load_weights(single), str(single)
                    index = folder / f"{stem}{variant}.{ext}.index.json"
                    if index.is_file():
                        return _load_sharded(index), str(index)
        raise ModelFormatError(
            f"{folder}: no weights found (looked for diffusion_pytorch_model / model / pytorch_model "
            ".safetensors or .bin, sharded or not)"
        )

    def tokenizer(self, max_length: int) -> tuple[ClipTokenizer, Json]:
        """`vocab.json` + `merges.txt` (how Karlo ships it), else the BPE inside `tokenizer.json`."""
        folder = self._folder("tokenizer")
        config_path = folder / "tokenizer_config.json"
        config = _read_json(config_path) if config_path.is_file() else {}
        if (folder / "vocab.json").is_file() or not (folder / "tokenizer.json").is_file():
            return load_tokenizer(folder, max_length=max_length), config
        return _tokenizer_from_json(folder / "tokenizer.json", max_length), config


class MemorySource(KarloSource):
    """Components already in memory: diffusers/transformers modules (or (config, state dict) pairs).

    Lets a benchmark or test convert freshly built networks without writing them to disk first.
    """

    def __init__(
        self, components: dict[str, Any], tokenizer: ClipTokenizer | None = None, label: str = "memory"
    ):
        self.components = components
        self._tokenizer = tokenizer
        self.label = label

    def has(self, component: str) -> bool:
        return component in self.components or (component == "tokenizer" and self._tokenizer is not None)

    def _get(self, component: str) -> Any:
        if component not in self.components:
            raise ModelFormatError(f"{self.label}/{component}: component missing")
        return self.components[component]

    def config(self, component: str) -> tuple[Json, str]:
        item = self._get(component)
        if isinstance(item, tuple):
            return dict(item[0]), f"{self.label}/{component}"
        cfg = item.config
        data = cfg.to_dict() if hasattr(cfg, "to_dict") and not isinstance(cfg, dict) else dict(cfg)
        return data, f"{self.label}/{component}"

    def weights(self, component: str) -> tuple[StateDict, str]:
        item = self._get(component)
        state = item[1] if isinstance(item, tuple) else item.state_dict()
        return dict(state), f"{self.label}/{component}"

    def tokenizer(self, max_length: int) -> tuple[ClipTokenizer, Json]:
        if self._tokenizer is None:
            raise ModelFormatError(f"{self.label}/tokenizer: component missing")
        self._tokenizer.model_max_length = max_length
        return self._tokenizer, {"model_max_length": max_length}


def _read_json(path: Path) -> Json:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise ModelFormatError(f"{path}: not valid JSON ({e})") from e
    if not isinstance(data, dict):
        raise ModelFormatError(f"{path}: expected a JSON object")
    return data


def _tokenizer_from_json(path: Path, max_length: int) -> ClipTokenizer:
    model = _read_json(path).get("model")
    if not isinstance(model, dict) or model.get("type") != "BPE":
        raise ModelFormatError(f"{path}: expected a BPE tokenizer model")
    vocab, merges = model.get("vocab"), model.get("merges")
    if not isinstance(vocab, dict) or not isinstance(merges, list):
        raise ModelFormatError(f"{path}: BPE model without vocab / merges")
    pairs = [tuple(m.split(" ")) if isinstance(m, str) else tuple(m) for m in merges]
    bad = [p for p in pairs if len(p) != 2]
    if bad:
        raise ModelFormatError(f"{path}: malformed merge {bad[0]!r}")
    for special in ("<|startoftext|>", "<|endoftext|>"):
        if special not in vocab:
            raise ModelFormatError(f"{path}: special token {special} missing")
    return ClipTokenizer(vocab, [(a, b) for a, b in pairs], max_length)


def _load_weights(path: Path) -> StateDict:
    try:
        if path.suffix == ".safetensors":
            return load_file(str(path))
        state = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as e:  # weights_only=True refuses anything but tensors and containers
        raise ModelFormatError(f"{path}: cannot be read safely with weights_only=True ({e})") from e
    except (SafetensorError, OSError, RuntimeError, ValueError, EOFError) as e:
        raise ModelFormatError(f"{path}: not a readable weights file ({e})") from e
    if isinstance(state, dict) and "state_dict" in state and isinstance(state["state_dict"], dict):
        state = state["state_dict"]
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise ModelFormatError(f"{path}: expected a mapping of tensor names to tensors")
    return state


def _load_sharded(index_path: Path) -> StateDict:
    weight_map = _read_json(index_path).get("weight_map")
    if not isinstance(weight_map, dict) or not weight_map:
        raise ModelFormatError(f'{index_path}: no "weight_map"')
    state: StateDict = {}
    for shard in sorted(set(weight_map.values())):
        path = index_path.parent / shard
        if not path.is_file():
            raise ModelFormatError(f"{path}: shard listed in {index_path.name} is missing")
        state.update(_load_weights(path))
    missing = sorted(set(weight_map) - set(state))
    if missing:
        raise ModelFormatError(
            f"{index_path}: {len(missing)} tensor(s) listed but not in any shard, e.g. {missing[:3]}"
        )
    return state
