"""The server's only view of the model: a few UnCLIP methods behind a small interface.

The engine is driven from one worker thread (see `batching`); nothing here knows about HTTP.
"""

from __future__ import annotations

import logging
from typing import Any, Protocol

from PIL import Image

from unclip.server.logs import event, log
from unclip.server.settings import ServerSettings

DTYPES = {"fp32": "float32", "fp16": "float16", "bf16": "bfloat16"}


class Engine(Protocol):
    """What the server needs from a model. `generate` takes one prompt per image (a batch)."""

    @property
    def max_size(self) -> int: ...

    description: str

    def generate(self, prompts: list[str], size: int, **run: Any) -> list[Image.Image]: ...

    def edit(
        self,
        image: Image.Image,
        mask: Image.Image | None,
        prompt: str,
        n: int,
        size: int,
        outpaint: bool = False,
        **run: Any,
    ) -> list[Image.Image]: ...

    def vary(self, image: Image.Image, n: int, size: int, **run: Any) -> list[Image.Image]: ...


# `**run`, only given when a request asks for them: `seed` (int), `callback` (called in the worker
# thread with `unclip.pipeline.partials.Progress` after every step) and `partial_images` (0..3).


class UnclipEngine:
    """Calls `UnCLIP.generate/edit/vary` with the server's fixed stage settings."""

    def __init__(
        self, pipe: Any, stage_settings: dict[str, Any] | None = None, description: str = ""
    ) -> None:
        self.pipe = pipe
        self.stage_settings = dict(stage_settings or {})
        self.description = description

    @property
    def device(self) -> str:
        return str(getattr(self.pipe, "device", "cpu"))

    @property
    def max_size(self) -> int:
        return int(self.pipe.max_size)

    def generate(self, prompts: list[str], size: int, **run: Any) -> list[Image.Image]:
        if len(set(prompts)) == 1:  # one request's n images: as `UnCLIP.generate(prompt, n=n)` (and the CLI)
            return self.pipe.generate(prompts[0], n=len(prompts), size=size, **run, **self.stage_settings)
        return self.pipe.generate(prompts, n=1, size=size, **run, **self.stage_settings)

    def edit(
        self,
        image: Image.Image,
        mask: Image.Image | None,
        prompt: str,
        n: int,
        size: int,
        outpaint: bool = False,
        **run: Any,
    ) -> list[Image.Image]:
        """`outpaint`: the transparent area extends a picture (one outpainting frame), so it is filled
        with the model's outpainting method, which can differ from its edit method."""
        settings = dict(self.stage_settings)
        if outpaint:
            settings["method"] = self.pipe.edit_method(outpaint=True)
        return self.pipe.edit(image, mask, prompt, n=n, size=size, **run, **settings)

    def vary(self, image: Image.Image, n: int, size: int, **run: Any) -> list[Image.Image]:
        return self.pipe.vary(image, n=n, size=size, **run, **self.stage_settings)

    @classmethod
    def from_settings(cls, settings: ServerSettings) -> UnclipEngine:
        """Load the model named by the settings (the embedded default when `model` is None)."""
        import torch

        from unclip.pipeline.unclip_pipeline import UnCLIP

        if settings.threads:
            torch.set_num_threads(settings.threads)
        dtype = getattr(torch, DTYPES[settings.dtype]) if settings.dtype else None
        pipe = UnCLIP.from_pretrained(settings.model, device=settings.device, dtype=dtype)
        description = str(pipe.model_path) if pipe.model_path is not None else pipe.model_name
        pipe.policy = None  # the API layer (guard.py) applies the content policy, with logging and metrics
        engine = cls(pipe, settings.effective_stage_settings(), description)
        event(
            log,
            logging.INFO,
            "model loaded",
            model=description,
            device=str(pipe.device),
            max_size=engine.max_size,
            stage_settings=engine.stage_settings,
        )
        return engine
