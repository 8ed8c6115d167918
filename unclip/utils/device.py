"""Which device and precision to run on by default."""

from __future__ import annotations

import functools
from pathlib import Path

import torch

from unclip.errors import InputError


@functools.lru_cache(maxsize=1)
def cpu_has_native_bf16() -> bool:
    """True when this CPU multiplies bf16 in hardware (AVX512-BF16 or AMX). Elsewhere torch emulates
    bf16 matmuls and convolutions, which is far slower than fp32, so bf16 must not be chosen there."""
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return False
    flags = set()
    for line in text.splitlines():
        if line.startswith("flags"):
            flags.update(line.split(":", 1)[1].split())
            break
    return bool({"avx512_bf16", "amx_bf16"} & flags)


def default_device() -> torch.device:
    if torch.cuda.is_available():
        return torch.device("cuda")
    if getattr(torch.backends, "mps", None) and torch.backends.mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


def resolve_device(device: torch.device | str | None, what: str = "device") -> torch.device:
    """`device` as a torch.device that torch knows and this machine has (None: :func:`default_device`).
    Anything else is an InputError naming `what` and the value."""
    if device is None:
        return default_device()
    try:
        resolved = torch.device(device)
    except (RuntimeError, TypeError, ValueError):
        raise InputError(f"{what} {device!r}: not a device name; use cpu, cuda, cuda:N or mps") from None
    if resolved.type == "cuda" and not torch.cuda.is_available():
        raise InputError(
            f"{what} {device!r}: CUDA is not available here (this torch build or machine has no GPU)"
        )
    if resolved.type == "cuda" and (resolved.index or 0) >= torch.cuda.device_count():
        raise InputError(f"{what} {device!r}: there is no such GPU ({torch.cuda.device_count()} visible)")
    if resolved.type == "mps" and not torch.backends.mps.is_available():
        raise InputError(f"{what} {device!r}: MPS is not available on this machine")
    return resolved


def auto_dtype(device: torch.device) -> torch.dtype:
    """fp16 on CUDA and MPS; bf16 on CPUs with native bf16; fp32 elsewhere."""
    if device.type in ("cuda", "mps"):
        return torch.float16
    return torch.bfloat16 if cpu_has_native_bf16() else torch.float32
