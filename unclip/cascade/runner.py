"""`CascadeRunner`: a cascade placed on a device, with what every operation on it shares.

Generation (`UnCLIP`) and the editing functions (`unclip.pipeline.editing`) take a runner: prompt
encoding, the cached empty caption (classifier-free guidance's unconditional input), seeded noise
generators, request checks, and the upsampler chain from the decoder's 64 px to the output size.
"""

from __future__ import annotations

import operator
from typing import Any

import torch

from unclip.cascade import stages
from unclip.cascade.container import Cascade
from unclip.cascade.settings import SamplingConfig
from unclip.errors import InputError
from unclip.models.clip import TextEncoding
from unclip.utils.checks import MAX_SEED
from unclip.utils.device import resolve_device
from unclip.utils.threads import one_thread

SIZES = (64, 256, 512, 1024)
MAX_PROMPT_CHARS = 1000


def check_seed(seed: Any) -> int:
    """A seed torch accepts: a whole number from 0 to 2**64 - 1 (numpy integers too)."""
    try:
        value = operator.index(seed)
    except TypeError:
        raise InputError(f"seed: must be a whole number, got {seed!r}") from None
    if not 0 <= value <= MAX_SEED:
        raise InputError(f"seed: must be a whole number from 0 to 2**64 - 1, got {seed!r}")
    return value


class CascadeRunner:
    """A cascade on `device`, in eval mode, with the shared pieces of running it."""

    def __init__(self, cascade: Cascade, device: torch.device | str | None = None):
        self.device = resolve_device(device)
        with one_thread():  # many small copies: see unclip.utils.threads
            self.cascade = cascade.to(device=self.device).eval()
            if self.device.type == "cpu":
                # oneDNN's CPU convolutions run faster on channels-last (NHWC) weights and activations.
                for name, module in self.cascade.modules.items():
                    if name != "clip" and name != "prior":
                        module.to(memory_format=torch.channels_last)  # type: ignore[call-overload]  # not in torch's stubs
        self._empty: TextEncoding | None = None

    @property
    def dtype(self) -> torch.dtype:
        return next(self.cascade.decoder.parameters()).dtype

    @property
    def max_size(self) -> int:
        return 1024 if self.cascade.upsampler(1024) is not None else 256

    def encode_prompts(self, prompts: list[str]) -> TextEncoding:
        return stages.encode_prompts(self.cascade.clip, self.cascade.tokenizer, prompts)

    def empty_text(self) -> TextEncoding:
        """The empty caption's encoding: the unconditional input for classifier-free guidance."""
        if self._empty is None:
            self._empty = self.encode_prompts([""])
        return self._empty

    def embed_images(self, images: list[Any]) -> torch.Tensor:
        """CLIP image embeddings [len(images), D] (float32) of PIL images."""
        return self.cascade.clip.embed_pil(images).float()

    def generator(self, seed: int | None) -> torch.Generator:
        # MPS generators are not supported everywhere: draw noise on the CPU there.
        device = self.device if self.device.type != "mps" else torch.device("cpu")
        g = torch.Generator(device=device)
        g.manual_seed(check_seed(seed) if seed is not None else int(torch.randint(0, 2**62, ()).item()))
        return g

    def check_request(self, prompts: list[str], n: int, size: int) -> None:
        if not prompts:
            raise InputError("prompt: at least one prompt is required")
        for p in prompts:
            if not isinstance(p, str):
                raise InputError(f"prompt: expected a string, got {type(p).__name__}")
            if len(p) > MAX_PROMPT_CHARS:
                raise InputError(f"prompt: {len(p)} characters, the maximum is {MAX_PROMPT_CHARS}")
        if not isinstance(n, int) or n < 1:
            raise InputError(f"n: must be a positive integer, got {n!r}")
        if size not in SIZES:
            raise InputError(f"size: must be one of {SIZES}, got {size!r}")
        if size > self.max_size:
            raise InputError(f"size: {size} is larger than this model's largest output ({self.max_size})")

    def upsample_to(
        self,
        images: torch.Tensor,
        size: int,
        sampling: SamplingConfig,
        generator: torch.Generator,
        progress: bool = False,
    ) -> torch.Tensor:
        """64 px decoder output -> `size` (256, 512 or 1024) through the upsampler stages."""
        if size == images.shape[-1]:
            return images
        up256 = self.cascade.upsampler(256)
        assert up256 is not None
        x = stages.run_upsampler(
            up256, images, 256, sampling.upsampler_256, generator, progress=progress, desc="64->256"
        )
        if size == 256:
            return x
        up1024 = self.cascade.upsampler(1024)
        if up1024 is None:
            raise InputError(f"size {size} needs the 256->1024 upsampler, which this model does not have")
        x = stages.run_upsampler(
            up1024, x, 1024, sampling.upsampler_1024, generator, progress=progress, desc="256->1024"
        )
        if size == 512:
            # 512 px comes from the 1024 stage (area downsampling), never from upscaling a 256 result.
            x = torch.nn.functional.interpolate(x, size=(512, 512), mode="area")
        return x
