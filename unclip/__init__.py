"""unclip: an open reimplementation of DALL-E 2 (unCLIP)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from unclip.version import __version__

if TYPE_CHECKING:
    from unclip.pipeline.unclip_pipeline import UnCLIP


def __getattr__(name: str):  # lazy, so `import unclip` stays cheap for the CLI and the server
    if name == "UnCLIP":
        from unclip.pipeline.unclip_pipeline import UnCLIP

        return UnCLIP
    raise AttributeError(name)


__all__ = ["UnCLIP", "__version__"]
