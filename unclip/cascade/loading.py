"""The one model loader, for the CLI, the server and `UnCLIP.from_pretrained`.

A path loads that model directory. No path loads the embedded default model; when a build of the
package ships without it, a randomly initialised `tiny` cascade (with inpainting networks) stands in,
with a warning on stderr, so every command still runs (its images are noise).
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

import torch

from unclip.cascade.container import Cascade
from unclip.cascade.model_dir import INDEX, load_cascade

RANDOM_FALLBACK_NAME = "random tiny cascade (untrained)"


def default_model_path() -> Path:
    """The embedded default model shipped inside the package."""
    return Path(__file__).resolve().parent.parent / "assets" / "default_model"


@dataclass
class LoadedModel:
    cascade: Cascade
    name: str  # what the model is called in C2PA manifests and logs
    path: Path | None  # the model directory; None for the random fallback


def load_model(
    path: str | Path | None,
    device: torch.device | str | None = None,
    dtype: torch.dtype | None = None,
    components: list[str] | None = None,
) -> LoadedModel:
    """Load the model directory `path` (None: the embedded default, or the random fallback).
    `components`: the optional components to load (None: all of them)."""
    if path is None and not (default_model_path() / INDEX).is_file():
        from unclip.cascade.presets import build_cascade

        print(
            "unclip: warning: no embedded default model is installed; using a randomly initialised 'tiny' "
            "cascade (its images are noise). Pass a model directory (--model DIR) to use a trained model.",
            file=sys.stderr,
        )
        return LoadedModel(
            build_cascade("tiny", inpainting=True).to(device=device), RANDOM_FALLBACK_NAME, None
        )
    directory = Path(path).expanduser() if path is not None else default_model_path()
    cascade = load_cascade(directory, device=device, dtype=dtype, components=components)
    default = directory.resolve() == default_model_path().resolve()
    return LoadedModel(
        cascade, "unclip default model" if default else f"unclip model {directory.name}", directory
    )
