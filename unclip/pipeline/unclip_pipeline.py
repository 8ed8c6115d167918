"""`UnCLIP`: load a model directory and generate images from prompts.

prompt -> tokens -> CLIP text embedding -> prior -> image embedding -> decoder (64 px)
       -> upsampler (256 px) -> upsampler (1024 px) -> PIL images
"""

from __future__ import annotations

from contextlib import AbstractContextManager, nullcontext
from pathlib import Path
from typing import Any

import torch
from PIL import Image

from unclip.cascade import stages
from unclip.cascade.container import Cascade
from unclip.cascade.loading import default_model_path, load_model
from unclip.cascade.model_dir import save_cascade
from unclip.cascade.progress import listening
from unclip.cascade.runner import CascadeRunner
from unclip.cascade.settings import STAGE_SETTINGS, parse_stage_settings
from unclip.pipeline.editing.inpaint import Method, edit, resolve_method
from unclip.pipeline.editing.interpolate import interpolate
from unclip.pipeline.editing.outpaint import outpaint
from unclip.pipeline.editing.text_diff import text_diff
from unclip.pipeline.editing.variations import reconstruct, vary
from unclip.pipeline.partials import (
    MAX_PARTIAL_IMAGES,
    PartialReporter,
    ProgressCallback,
    check_partial_images,
    plan_stages,
)
from unclip.provenance import Origin, Provenance, attach
from unclip.safety import Policy
from unclip.utils.device import auto_dtype, resolve_device
from unclip.utils.images import tensor_to_pil

__all__ = ["UnCLIP", "default_model_path"]  # default_model_path: also importable from here, as before


class UnCLIP(CascadeRunner):
    """A loaded unCLIP cascade with text-to-image generation. Editing lives in `unclip.pipeline.editing`.

    Every public generating method checks its prompts and uploaded images against the content policy
    before any network runs, and its outputs before returning them; a refusal raises
    `unclip.safety.ContentPolicyViolation`. `safety=False` (research use) turns the checks off and says
    so loudly; `policy` takes a custom `unclip.safety.Policy` (e.g. `Policy.from_file(path)`).

    Every returned image records what made it (`unclip.provenance.origin_of(image)`: the operation, the
    model, the input images); `save(image, path)` writes it as a PNG with the invisible watermark and a
    signed C2PA manifest saying so (`provenance`: an `unclip.provenance.Provenance`, default the local key
    in ~/.cache/unclip/provenance). PIL's own `image.save` writes neither.
    """

    def __init__(
        self,
        cascade: Cascade,
        device: torch.device | str | None = None,
        safety: bool = True,
        policy: Policy | None = None,
        provenance: Provenance | None = None,
        model_name: str = "unclip cascade",
    ):
        super().__init__(cascade, device)
        # None means "checked elsewhere" (the HTTP server applies the policy at the API layer).
        self.policy: Policy | None = (
            policy if policy is not None else (Policy.default() if safety else Policy.disabled())
        )
        self.provenance = provenance if provenance is not None else Provenance()
        self.model_name = model_name  # named in the C2PA manifests of saved images
        self.model_path: Path | None = None  # the model directory it was loaded from, if any

    def screen_prompts(self, prompts: list[str]) -> None:
        if self.policy is not None:
            for prompt in prompts:
                self.policy.enforce_prompt(prompt)

    def screen_images(self, images: list[Image.Image], kind: str) -> list[Image.Image]:
        """`kind` "upload" (inputs) or "output" (results); refused images are never returned."""
        if self.policy is not None:
            for image in images:
                self.policy.enforce_image(image, kind)
        return images

    def _origin(self, images: list[Image.Image], operation: str, *inputs: Image.Image) -> list[Image.Image]:
        origin = Origin(operation, self.model_name, tuple(inputs))
        return [attach(image, origin) for image in images]

    def save(self, image: Image.Image, path: str | Path) -> Path:
        """Write one output as a PNG with the watermark and a signed C2PA manifest (see the class doc)."""
        return self.provenance.save(image, path)

    def _watching(
        self,
        callback: ProgressCallback | None,
        partial_images: int,
        size: int,
        stage_settings: dict[str, Any],
        prior: bool = True,
    ) -> AbstractContextManager[None]:
        """Report progress and partial images to `callback` (see `unclip.pipeline.partials`) for the
        run inside the block; partial images pass the content policy's output check first."""
        check_partial_images(partial_images)
        if callback is None:
            return nullcontext()
        plan = plan_stages(parse_stage_settings(self.cascade.sampling, stage_settings), size, prior=prior)
        reporter = PartialReporter(
            plan, size, callback, partial_images, screen=lambda images: self.screen_images(images, "output")
        )
        return listening(reporter)

    # ------------------------------------------------------------------ loading and saving
    @classmethod
    def from_pretrained(
        cls,
        path: str | Path | None = None,
        device: torch.device | str | None = None,
        dtype: torch.dtype | None = None,
        components: list[str] | None = None,
        safety: bool = True,
        policy: Policy | None = None,
    ) -> UnCLIP:
        """Load a model directory (`None`: the embedded default model; see `unclip.cascade.loading` for
        the fallback when none is installed). The default dtype is fp16 on
        CUDA/MPS, bf16 on CPUs that compute bf16 natively (AVX512-BF16, AMX) and fp32 elsewhere."""
        device = resolve_device(device)
        loaded = load_model(
            path,
            device=device,
            dtype=dtype if dtype is not None else auto_dtype(device),
            components=components,
        )
        pipe = cls(loaded.cascade, device=device, safety=safety, policy=policy, model_name=loaded.name)
        pipe.model_path = loaded.path
        return pipe

    def save_pretrained(self, path: str | Path, dtype: torch.dtype | None = None) -> None:
        save_cascade(self.cascade, path, dtype=dtype)

    # ------------------------------------------------------------------ generation
    @torch.inference_mode()
    def generate_tensors(
        self,
        prompt: str | list[str],
        n: int = 1,
        size: int = 256,
        seed: int | None = None,
        progress: bool = False,
        **stage_settings: Any,
    ) -> torch.Tensor:
        """Like :meth:`generate` but returns a float tensor [len(prompts) * n, 3, size, size] in [-1, 1]."""
        prompts = [prompt] if isinstance(prompt, str) else list(prompt)
        self.check_request(prompts, n, size)
        self.screen_prompts(prompts)
        sampling = parse_stage_settings(self.cascade.sampling, stage_settings)
        generator = self.generator(seed)
        text = self.encode_prompts(prompts).repeat_interleave(n)
        embeds = stages.run_prior(
            self.cascade.prior,
            text,
            self.empty_text(),
            sampling.prior,
            generator,
            candidates=sampling.prior_candidates,
            progress=progress,
        )
        images = stages.run_decoder(
            self.cascade.decoder,
            embeds,
            text,
            self.empty_text(),
            sampling.decoder,
            generator,
            progress=progress,
        ).clamp(-1, 1)
        return self.upsample_to(images, size, sampling, generator, progress=progress).clamp(-1, 1)

    def generate(
        self,
        prompt: str | list[str],
        n: int = 1,
        size: int = 256,
        seed: int | None = None,
        progress: bool = False,
        callback: ProgressCallback | None = None,
        partial_images: int = MAX_PARTIAL_IMAGES,
        **stage_settings: Any,
    ) -> list[Image.Image]:
        """Generate `n` images per prompt at `size` px (64, 256, 512 or 1024).

        Stage settings override the model's defaults per stage, e.g. `decoder_steps=10`,
        `prior_guidance=4.0`, `upsampler_256_sampler="ddim"`, `prior_candidates=1`.

        `callback(progress)` is called after every sampling step with a `unclip.pipeline.partials.Progress`
        (stage, step, steps done overall), carrying at `partial_images` (0..3) evenly spaced steps the
        current clean-image estimate of every result; the results are the same with or without it.
        """
        with self._watching(callback, partial_images, size, stage_settings):
            tensors = self.generate_tensors(prompt, n, size, seed, progress, **stage_settings)
        images = tensor_to_pil(tensors)
        return self._origin(self.screen_images(images, "output"), "generate")

    # ------------------------------------------------------------------ editing (unclip.pipeline.editing)
    def edit(
        self,
        image: Image.Image,
        mask: Image.Image | None,
        prompt: str,
        n: int = 1,
        size: int = 256,
        seed: int | None = None,
        method: Method = "auto",
        progress: bool = False,
        callback: ProgressCallback | None = None,
        partial_images: int = MAX_PARTIAL_IMAGES,
        **stage_settings: Any,
    ) -> list[Image.Image]:
        """Regenerate the masked area of `image` to fit `prompt` and its surroundings; outside the mask
        the results equal the (fitted) input exactly. `mask`: fully transparent pixels mark the area to
        edit (None: the image's own alpha). `method`: "trained" (the *_inpaint networks), "zero-shot"
        (RePaint on the plain cascade) or "auto". Also `mask_mode` ("alpha", "white-edits",
        "black-edits"), `fit` ("crop" | "pad"), `resample`, `blend` (px), `context_weight` (0..1: how far
        the fill's image embedding leans from the prompt toward the kept picture; default the model's
        `edit_context`); see `editing.inpaint.edit`. `callback`, `partial_images`: as in `generate`
        (partial images are the estimate of the whole picture, before the kept area is pasted back)."""
        settings = {k: v for k, v in stage_settings.items() if k in STAGE_SETTINGS}
        with self._watching(callback, partial_images, size, settings):
            images = edit(
                self, self.policy, image, mask, prompt, n, size, seed, method, progress, **stage_settings
            )
        return self._origin(images, "edit", image)

    def edit_method(self, outpaint: bool = False) -> str:
        """The method an edit with `method="auto"` uses with this model ("trained" or "zero-shot");
        `outpaint=True`: the one outpainting uses (the model's `sampling.outpaint_method`). For callers
        that outpaint through `edit`, one frame at a time, as the web editor does."""
        preferred = self.cascade.sampling.outpaint_method if outpaint else "auto"
        return resolve_method(self, "auto", preferred)

    def outpaint(
        self,
        image: Image.Image,
        left: int = 0,
        right: int = 0,
        top: int = 0,
        bottom: int = 0,
        prompt: str = "",
        **kwargs: Any,
    ) -> list[Image.Image]:
        """Extend `image` by margins (RGB results), or fill one `size` px generation `frame=(x, y)` placed
        relative to the image's top-left corner (RGBA results: unfilled canvas stays transparent).
        Also n, size (frame side), seed, method, progress, overlap, resample, blend, context_weight (as in
        `edit`), stage settings."""
        return self._origin(
            outpaint(self, self.policy, image, left, right, top, bottom, prompt, **kwargs), "outpaint", image
        )

    def vary(
        self,
        image: Image.Image,
        n: int = 1,
        size: int = 256,
        seed: int | None = None,
        drift: float = 0.0,
        progress: bool = False,
        keep: float | None = None,
        callback: ProgressCallback | None = None,
        partial_images: int = MAX_PARTIAL_IMAGES,
        **stage_settings: Any,
    ) -> list[Image.Image]:
        """`n` variations of `image` (CLIP image embedding -> decoder -> upsamplers); `drift` 0..1 lets
        the embedding move toward random directions (0: decoder noise only); `keep` 0..<1 starts the
        decoder from the source noised (1 - keep) of the way (0: pure noise, the paper's; None: the
        model's `sampling.vary_keep`). Also fit ("crop" or "pad") and stage settings. `callback`,
        `partial_images`: as in `generate`."""
        settings = {k: v for k, v in stage_settings.items() if k in STAGE_SETTINGS}
        with self._watching(callback, partial_images, size, settings, prior=False):
            images = vary(
                self, self.policy, image, n, size, seed, drift, progress, keep=keep, **stage_settings
            )
        return self._origin(images, "vary", image)

    def reconstruct(
        self,
        images: list[Image.Image],
        size: int = 64,
        seed: int | None = None,
        progress: bool = False,
        **stage_settings: Any,
    ) -> list[Image.Image]:
        """Each image decoded from its own CLIP image embedding (decoder from pure noise, empty caption:
        the paper's variations at keep 0), one result per image, in one batch. What a picture looks like
        after CLIP and the decoder: `unclip eval` scores these with its judge. Also fit, stage settings."""
        return reconstruct(self, self.policy, images, size, seed, progress=progress, **stage_settings)

    def interpolate(
        self, a: Image.Image, b: Image.Image, frames: int = 8, **kwargs: Any
    ) -> list[Image.Image]:
        """`frames` images from `a` to `b` (slerp of CLIP image embeddings; decoder noise from DDIM
        inversion of `a`, `noise="invert-both"` or `"random"`). Also size, seed, progress, stage settings."""
        return self._origin(interpolate(self, self.policy, a, b, frames, **kwargs), "interpolate", a, b)

    def text_diff(
        self, image: Image.Image, from_caption: str, to_caption: str, frames: int = 5, **kwargs: Any
    ) -> list[Image.Image]:
        """`frames` images moving `image` from `from_caption` toward `to_caption` (slerp toward the
        normalised text-embedding difference, up to `strength` 0.5). Also size, seed, progress."""
        return self._origin(
            text_diff(self, self.policy, image, from_caption, to_caption, frames, **kwargs),
            "text_diff",
            image,
        )
