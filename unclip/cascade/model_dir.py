"""The model directory format: `model_index.json`, per component a JSON config and safetensors weights,
and the tokenizer.

```
model/
  model_index.json          # format version, components (config, weights, size, sha256), sampling defaults
  tokenizer/vocab.json, merges.txt
  clip/config.json, clip/model.safetensors
  prior/..., decoder/..., upsampler_256/..., [upsampler_1024/...], [*_inpaint/...]
  ATTRIBUTION.md            # optional: where the training data came from
```

Loading checks every file before using it and fails with :class:`ModelFormatError` naming the file
and what is wrong (missing, truncated, corrupted, wrong keys or shapes) rather than a traceback.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file
from torch import nn

from unclip.cascade.container import COMPONENTS, REQUIRED, Cascade
from unclip.cascade.settings import SamplingConfig
from unclip.errors import ModelFormatError
from unclip.models.tokenizer import load_tokenizer, save_tokenizer
from unclip.utils.config import Config, ConfigError
from unclip.utils.threads import one_thread

FORMAT = "unclip"
FORMAT_VERSION = 1
INDEX = "model_index.json"


@dataclass
class ComponentEntry(Config):
    config: str
    weights: str
    bytes: int
    sha256: str


@dataclass
class ModelIndex(Config):
    format: str = FORMAT
    format_version: int = FORMAT_VERSION
    components: dict[str, ComponentEntry] = field(default_factory=dict)
    tokenizer: str = "tokenizer"
    sampling: SamplingConfig = field(default_factory=SamplingConfig)
    description: str = ""


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _atomic_write_bytes(path: Path, write) -> None:  # type: ignore[no-untyped-def]
    """Write through a temporary file in the same folder, then rename: never a half-written file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    os.close(fd)
    try:
        write(Path(tmp))
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def save_cascade(
    cascade: Cascade, directory: str | Path, dtype: torch.dtype | None = None, description: str = ""
) -> None:
    """Write `cascade` to `directory`; `dtype` (e.g. float16) converts floating weights on the way."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    index = ModelIndex(sampling=cascade.sampling, description=description)
    save_tokenizer(cascade.tokenizer, directory / index.tokenizer)
    for name, module in cascade.modules.items():
        if name not in COMPONENTS:
            raise ValueError(f"unknown component {name!r}")
        config: Config = module.config  # type: ignore[assignment]
        comp_dir = directory / name
        comp_dir.mkdir(exist_ok=True)
        state = {}
        for key, value in module.state_dict().items():
            value = value.detach().cpu()
            if dtype is not None and value.is_floating_point():
                value = value.to(dtype)
            state[key] = value.contiguous()
        weights = comp_dir / "model.safetensors"
        _atomic_write_bytes(
            weights, lambda p, s=state, n=name: save_file(s, str(p), metadata={"component": n})
        )
        _atomic_write_bytes(comp_dir / "config.json", lambda p, c=config: p.write_text(c.to_json() + "\n"))
        index.components[name] = ComponentEntry(
            config=f"{name}/config.json",
            weights=f"{name}/model.safetensors",
            bytes=weights.stat().st_size,
            sha256=_sha256(weights),
        )
    if cascade.attribution:
        (directory / "ATTRIBUTION.md").write_text(cascade.attribution)
    _atomic_write_bytes(directory / INDEX, lambda p: p.write_text(index.to_json() + "\n"))


def read_index(directory: Path, complete: bool = True) -> ModelIndex:
    """The model index. `complete=False` accepts a directory that holds only some components (training
    reads one component, e.g. a CLIP, from such a directory); generation needs the required ones."""
    path = directory / INDEX
    if not directory.is_dir():
        raise ModelFormatError(f"{directory}: model directory not found")
    if not path.is_file():
        raise ModelFormatError(f"{path}: missing (not an unclip model directory?)")
    try:
        data = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise ModelFormatError(f"{path}: not valid JSON ({e})") from e
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise ModelFormatError(f'{path}: not an unclip model index ("format" must be "{FORMAT}")')
    if data.get("format_version") != FORMAT_VERSION:
        raise ModelFormatError(
            f"{path}: format_version {data.get('format_version')!r} is not supported (expected {FORMAT_VERSION})"
        )
    try:
        index = ModelIndex.from_dict(data, where=str(path))
    except ConfigError as e:
        raise ModelFormatError(str(e)) from e
    unknown = sorted(set(index.components) - set(COMPONENTS))
    if unknown:
        raise ModelFormatError(f"{path}: unknown component(s) {unknown}; known: {sorted(COMPONENTS)}")
    missing = [c for c in REQUIRED if c not in index.components]
    if missing and complete:
        raise ModelFormatError(f"{path}: required component(s) {missing} not listed")
    return index


def _load_weights(path: Path, entry: ComponentEntry, verify: bool) -> dict[str, torch.Tensor]:
    if not path.is_file():
        raise ModelFormatError(f"{path}: weights file missing")
    size = path.stat().st_size
    if size != entry.bytes:
        what = "truncated" if size < entry.bytes else "larger than recorded"
        raise ModelFormatError(f"{path}: {what}: {size} bytes, model_index.json records {entry.bytes}")
    if verify and _sha256(path) != entry.sha256:
        raise ModelFormatError(f"{path}: corrupted: sha256 does not match model_index.json")
    try:
        return load_file(str(path))
    except (SafetensorError, OSError, ValueError) as e:
        raise ModelFormatError(f"{path}: not a readable safetensors file ({e})") from e


def _check_state(module: nn.Module, state: dict[str, torch.Tensor], path: Path) -> None:
    expected = module.state_dict()
    missing = sorted(set(expected) - set(state))
    unexpected = sorted(set(state) - set(expected))
    if missing or unexpected:
        parts = []
        if missing:
            parts.append(f"missing {len(missing)} tensor(s) e.g. {missing[:3]}")
        if unexpected:
            parts.append(f"unexpected {len(unexpected)} tensor(s) e.g. {unexpected[:3]}")
        raise ModelFormatError(f"{path}: does not match its config: " + "; ".join(parts))
    for key, tensor in expected.items():
        if tuple(state[key].shape) != tuple(tensor.shape):
            raise ModelFormatError(
                f"{path}: tensor {key!r} has shape {tuple(state[key].shape)}, config expects {tuple(tensor.shape)}"
            )


def load_component(
    directory: Path, name: str, entry: ComponentEntry, verify: bool = True, dtype: torch.dtype | None = None
) -> nn.Module:
    """One component, its floating weights in `dtype` (None: the network's own, float32).

    The network is built on the meta device (no memory, no random initialisation) and the file's
    tensors become its weights (`assign=True`), converted once to their final precision: building in
    float32, initialising at random, copying the weights in and converting took most of a load."""
    config_cls, module_cls = COMPONENTS[name]
    config_path = directory / entry.config
    try:
        config = config_cls.load(config_path)
    except ConfigError as e:
        raise ModelFormatError(str(e)) from e
    weights_path = directory / entry.weights
    state = _load_weights(weights_path, entry, verify)
    with torch.device("meta"):
        module = module_cls(config)
    _check_state(module, state, weights_path)
    expected = module.state_dict()
    for key, tensor in state.items():
        want = expected[key].dtype
        if dtype is not None and want.is_floating_point:
            want = dtype
        state[key] = tensor.to(want)
    module.load_state_dict(state, strict=True, assign=True)
    _materialize_buffers(module)
    return module


def _materialize_buffers(module: nn.Module) -> None:
    """Give the buffers that are not saved (they are computed, not learned) their values; a network with
    such buffers says how (`materialize_buffers()`). Anything still on the meta device is a bug here."""
    materialize = getattr(module, "materialize_buffers", None)
    if materialize is not None:
        materialize()
    left = [k for k, t in [*module.named_parameters(), *module.named_buffers()] if t.is_meta]
    if left:
        raise RuntimeError(f"{type(module).__name__}: tensors left without values after loading: {left[:5]}")


def load_cascade(
    directory: str | Path,
    device: torch.device | str | None = None,
    dtype: torch.dtype | None = None,
    components: list[str] | None = None,
    verify: bool = True,
) -> Cascade:
    """Load a model directory. `components` restricts which optional components are loaded."""
    directory = Path(directory)
    index = read_index(directory)
    tokenizer_dir = directory / index.tokenizer
    names = [n for n in index.components if components is None or n in components or n in REQUIRED]
    with one_thread():  # thousands of small conversions: see unclip.utils.threads
        modules = {
            name: load_component(directory, name, index.components[name], verify, dtype) for name in names
        }
    max_tokens: int = modules["clip"].config.text_max_tokens  # type: ignore[union-attr,assignment]
    tokenizer = load_tokenizer(tokenizer_dir, max_length=max_tokens)
    attribution_path = directory / "ATTRIBUTION.md"
    attribution = attribution_path.read_text() if attribution_path.is_file() else None
    cascade = Cascade(tokenizer=tokenizer, modules=modules, sampling=index.sampling, attribution=attribution)
    with one_thread():
        return cascade.to(device=device, dtype=dtype).eval()
