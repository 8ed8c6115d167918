"""Strict helpers for conversions: read a foreign config key by key, move tensors name by name.

Nothing is dropped silently. A :class:`ConfigView` fails on settings unclip cannot reproduce and on
unknown keys that are set; a :class:`StateMapper` records which source tensors it consumed, and
:func:`assemble` fails, naming the file and the tensors, when a source tensor was not used, a
needed one is missing, or a shape does not fit.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable
from typing import Any

import torch
from torch import nn

from unclip.errors import ModelFormatError

StateDict = dict[str, torch.Tensor]
_SHOW = 8  # how many names an error lists


def _names(keys: Iterable[str]) -> str:
    keys = sorted(keys)
    more = f" and {len(keys) - _SHOW} more" if len(keys) > _SHOW else ""
    return ", ".join(keys[:_SHOW]) + more


class ConfigView:
    """Read a config dict, remembering which keys were looked at."""

    def __init__(self, data: dict[str, Any], where: str):
        self.data = data
        self.where = where
        self.used: set[str] = set()

    def get(self, key: str, default: Any = None) -> Any:
        self.used.add(key)
        return self.data.get(key, default)

    def need(self, key: str) -> Any:
        self.used.add(key)
        if key not in self.data:
            raise ModelFormatError(f"{self.where}: required key {key!r} missing")
        return self.data[key]

    def expect(self, key: str, default: Any, allowed: Collection[Any] | None = None) -> Any:
        """The value of `key` (or its diffusers default), which must be `default` or in `allowed`."""
        value = self.get(key, default)
        ok = allowed if allowed is not None else (default,)
        if _normalise(value) not in [_normalise(a) for a in ok]:
            raise ModelFormatError(
                f"{self.where}: {key}={value!r} is not supported by unclip's conversion (supported: "
                f"{', '.join(repr(a) for a in ok)})"
            )
        return value

    def ignore(self, *keys: str) -> None:
        """Keys that do not change the computation (documented at the call site)."""
        self.used.update(keys)

    def finish(self) -> None:
        """Fail on keys nobody read unless unset (None/False): a setting we would silently ignore."""
        unknown = {k: v for k, v in self.data.items() if k not in self.used and not k.startswith("_")}
        set_ = {k: v for k, v in unknown.items() if v not in (None, False)}
        if set_:
            shown = ", ".join(f"{k}={v!r}" for k, v in sorted(set_.items())[:_SHOW])
            raise ModelFormatError(f"{self.where}: unknown setting(s) unclip cannot reproduce: {shown}")


def _normalise(value: Any) -> Any:
    return tuple(value) if isinstance(value, list) else value


class StateMapper:
    """Build (part of) one of our state dicts from a source state dict.

    `ours` names are relative to the target module (with this mapper's `prefix`); `theirs` names are
    keys of the source. Every source key may be used once; :meth:`leftover` lists the unused ones.
    """

    def __init__(self, source: StateDict, where: str, prefix: str = ""):
        self.source = source
        self.where = where
        self.prefix = prefix
        self.used: set[str] = set()
        self.missing: list[str] = []
        self.out: dict[str, tuple[torch.Tensor, str]] = {}  # ours -> (tensor, "where: theirs")

    def has(self, theirs: str) -> bool:
        return theirs in self.source

    def take(self, theirs: str) -> torch.Tensor | None:
        if theirs not in self.source:
            self.missing.append(theirs)
            return None
        if theirs in self.used:
            raise AssertionError(f"conversion bug: {theirs} used twice")
        self.used.add(theirs)
        return self.source[theirs]

    def put(self, ours: str, tensor: torch.Tensor | None, origin: str) -> None:
        if tensor is not None:
            self.out[self.prefix + ours] = (tensor, f"{self.where}: {origin}")

    def copy(
        self, ours: str, theirs: str, transform: Callable[[torch.Tensor], torch.Tensor] | None = None
    ) -> None:
        t = self.take(theirs)
        self.put(ours, transform(t) if (t is not None and transform) else t, theirs)

    def module(self, ours: str, theirs: str, params: tuple[str, ...] = ("weight", "bias")) -> None:
        for p in params:
            self.copy(f"{ours}.{p}", f"{theirs}.{p}")

    def module_if_present(self, ours: str, theirs: str, params: tuple[str, ...] = ("weight", "bias")) -> None:
        if self.has(f"{theirs}.{params[0]}"):
            self.module(ours, theirs, params)

    def fuse(self, ours: str, theirs: list[str], params: tuple[str, ...] = ("weight", "bias")) -> None:
        """Concatenate several source layers along the output dimension (e.g. q, k, v -> qkv)."""
        for p in params:
            parts = [self.take(f"{t}.{p}") for t in theirs]
            if all(x is not None for x in parts):
                origin = " + ".join(f"{t}.{p}" for t in theirs)
                if len({tuple(x.shape[1:]) for x in parts}) != 1:  # type: ignore[union-attr]
                    shapes = [tuple(x.shape) for x in parts]  # type: ignore[union-attr]
                    raise ModelFormatError(f"{self.where}: {origin} have incompatible shapes {shapes}")
                self.put(f"{ours}.{p}", torch.cat(parts, dim=0), origin)  # type: ignore[arg-type]

    def drop(self, theirs: str, why: str, check: Callable[[torch.Tensor], bool]) -> None:
        """Consume a tensor our module recomputes itself, after checking it holds the expected value."""
        t = self.take(theirs)
        if t is not None and not check(t):
            raise ModelFormatError(
                f"{self.where}: tensor {theirs!r} does not hold the expected value ({why})"
            )

    def leftover(self) -> list[str]:
        return sorted(set(self.source) - self.used)


def assemble(module: nn.Module, mappers: list[StateMapper], defaults: Collection[str] = ()) -> StateDict:
    """Check the mapped tensors against `module` and return its complete state dict.

    `defaults` are our tensors that have no source counterpart and keep the module's own value.
    """
    problems = []
    for m in mappers:
        if m.missing:
            problems.append(f"{m.where}: missing tensor(s) {_names(m.missing)}")
        left = m.leftover()
        if left:
            problems.append(
                f"{m.where}: unexpected tensor(s) {_names(left)} (not part of the architecture unclip maps)"
            )
    if problems:
        raise ModelFormatError("; ".join(problems))
    mapped: dict[str, tuple[torch.Tensor, str]] = {}
    for m in mappers:
        mapped.update(m.out)
    expected = module.state_dict()
    lacking = sorted(set(expected) - set(mapped) - set(defaults))
    extra = sorted(set(mapped) - set(expected))
    if lacking or extra:
        wheres = ", ".join(m.where for m in mappers)
        parts = []
        if lacking:
            parts.append(f"nothing to fill unclip tensor(s) {_names(lacking)}")
        if extra:
            parts.append(f"no unclip tensor for {_names(mapped[k][1] for k in extra)}")
        raise ModelFormatError(f"{wheres}: weights do not match the config: " + "; ".join(parts))
    state = {}
    for key, target in expected.items():
        if key not in mapped:
            state[key] = target
            continue
        tensor, origin = mapped[key]
        if tuple(tensor.shape) != tuple(target.shape):
            raise ModelFormatError(
                f"{origin} has shape {tuple(tensor.shape)}, but its config implies {tuple(target.shape)}"
            )
        state[key] = tensor
    return state
