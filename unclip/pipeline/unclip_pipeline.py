"""`UnCLIP`: load a model directory and generate images from prompts.

prompt -> tokens -> CLIP text embedding -> prior -> image embedding -> decoder (64 px)
       -> upsampler (256 px) -> upsampler (1024 px) -> PIL images
"""

from __future__ import annotations

import difflib
import operator
from pathlib import Path
from typing import Any

import torch
from PIL import Image

from unclip.errors import InputError, UnknownSettingError
from unclip.models.clip import TextEncoding
from unclip.pipeline import stages
from unclip.pipeline.cascade import Cascade, SamplingConfig
from unclip.pipeline.model_dir import load_cascade, save_cascade
from unclip.provenance import Origin, Provenance, attach
from unclip.safety import Policy
from unclip.utils.checks import MAX_SEED
from unclip.utils.device import auto_dtype, resolve_device
from unclip.utils.images import tensor_to_pil

SIZES = (64, 256, 512, 1024)
MAX_PROMPT_CHARS = 1000


def default_model_path() -> Path:
    """The embedded default model shipped inside the package."""
    return Path(__file__).resolve().parent.parent / "assets" / "default_model"


STAGE_SETTINGS = [f"{stage}_{name}" for stage in ("prior", "decoder", "upsampler_256", "upsampler_1024")
                  for name in ("sampler", "steps", "guidance", "eta", "start")] + ["prior_candidates"]


def _did_you_mean(key: str) -> str:
    close = difflib.get_close_matches(key, STAGE_SETTINGS, n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def parse_stage_settings(sampling: SamplingConfig, settings: dict[str, Any]) -> SamplingConfig:
    """Apply keyword overrides like `decoder_steps=10, prior_guidance=2.0, upsampler_256_sampler="ddim"`."""
    overrides: dict[str, dict[str, Any]] = {}
    for key, value in settings.items():
        if value is None:
            continue
        if key == "prior_candidates":
            overrides["prior_candidates"] = value  # type: ignore[assignment]
            continue
        if key not in STAGE_SETTINGS:
            raise UnknownSettingError(f"unknown stage setting {key!r}{_did_you_mean(key)} (use "
                                      "<prior|decoder|upsampler_256|upsampler_1024>_<sampler|steps|guidance|eta|start>"
                                      " or prior_candidates)")
        stage, _, field_name = key.rpartition("_")
        overrides.setdefault(stage, {})[field_name] = value
    try:
        return sampling.with_overrides(overrides)
    except ValueError as e:
        raise InputError(str(e)) from e


def check_seed(seed: Any) -> int:
    """A seed torch accepts: a whole number from 0 to 2**64 - 1 (numpy integers too)."""
    try:
        value = operator.index(seed)
    except TypeError:
        raise InputError(f"seed: must be a whole number, got {seed!r}") from None
    if not 0 <= value <= MAX_SEED:
        raise InputError(f"seed: must be a whole number from 0 to 2**64 - 1, got {seed!r}")
    return value


class UnCLIP:
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
        self.device = resolve_device(device)
        self.cascade = cascade.to(device=self.device).eval()
        if self.device.type == "cpu":
            # oneDNN's CPU convolutions run faster on channels-last (NHWC) weights and activations.
            for name, module in self.cascade.modules.items():
                if name != "clip" and name != "prior":
                    module.to(memory_format=torch.channels_last)
        self._empty: TextEncoding | None = None
        # None means "checked elsewhere" (the HTTP server applies the policy at the API layer).
        self.policy: Policy | None = policy if policy is not None else (Policy.default() if safety else Policy.disabled())
        self.provenance = provenance if provenance is not None else Provenance()
        self.model_name = model_name  # named in the C2PA manifests of saved images

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
        """Load a model directory (`None`: the embedded default model). The default dtype is fp16 on
        CUDA/MPS, bf16 on CPUs that compute bf16 natively (AVX512-BF16, AMX) and fp32 elsewhere."""
        device = resolve_device(device)
        if dtype is None:
            dtype = auto_dtype(device)
        path = Path(path) if path is not None else default_model_path()
        cascade = load_cascade(path, device=device, dtype=dtype, components=components)
        name = "unclip default model" if path.resolve() == default_model_path().resolve() else f"unclip model {path.name}"
        return cls(cascade, device=device, safety=safety, policy=policy, model_name=name)

    def save_pretrained(self, path: str | Path, dtype: torch.dtype | None = None) -> None:
        save_cascade(self.cascade, path, dtype=dtype)

    @property
    def dtype(self) -> torch.dtype:
        return next(self.cascade.decoder.parameters()).dtype

    @property
    def max_size(self) -> int:
        return 1024 if self.cascade.upsampler(1024) is not None else 256

    # ------------------------------------------------------------------ stages
    def encode_prompts(self, prompts: list[str]) -> TextEncoding:
        return stages.encode_prompts(self.cascade.clip, self.cascade.tokenizer, prompts)

    def empty_text(self) -> TextEncoding:
        """The empty caption's encoding: the unconditional input for classifier-free guidance."""
        if self._empty is None:
            self._empty = self.encode_prompts([""])
        return self._empty

    def generator(self, seed: int | None) -> torch.Generator:
        # MPS generators are not supported everywhere: draw noise on the CPU there.
        device = self.device if self.device.type != "mps" else torch.device("cpu")
        g = torch.Generator(device=device)
        g.manual_seed(check_seed(seed) if seed is not None else int(torch.randint(0, 2**62, ()).item()))
        return g

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
        x = stages.run_upsampler(up256, images, 256, sampling.upsampler_256, generator, progress=progress, desc="64->256")
        if size == 256:
            return x
        up1024 = self.cascade.upsampler(1024)
        if up1024 is None:
            raise InputError(f"size {size} needs the 256->1024 upsampler, which this model does not have")
        x = stages.run_upsampler(up1024, x, 1024, sampling.upsampler_1024, generator, progress=progress, desc="256->1024")
        if size == 512:
            # 512 px comes from the 1024 stage (area downsampling), never from upscaling a 256 result.
            x = torch.nn.functional.interpolate(x, size=(512, 512), mode="area")
        return x

    # ------------------------------------------------------------------ generation
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
            self.cascade.decoder, embeds, text, self.empty_text(), sampling.decoder, generator, progress=progress
        ).clamp(-1, 1)
        return self.upsample_to(images, size, sampling, generator, progress=progress).clamp(-1, 1)

    def generate(
        self,
        prompt: str | list[str],
        n: int = 1,
        size: int = 256,
        seed: int | None = None,
        progress: bool = False,
        **stage_settings: Any,
    ) -> list[Image.Image]:
        """Generate `n` images per prompt at `size` px (64, 256, 512 or 1024).

        Stage settings override the model's defaults per stage, e.g. `decoder_steps=10`,
        `prior_guidance=4.0`, `upsampler_256_sampler="ddim"`, `prior_candidates=1`.
        """
        images = tensor_to_pil(self.generate_tensors(prompt, n, size, seed, progress, **stage_settings))
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
        method: str = "auto",
        progress: bool = False,
        **stage_settings: Any,
    ) -> list[Image.Image]:
        """Regenerate the masked area of `image` to fit `prompt` and its surroundings; outside the mask
        the results equal the (fitted) input exactly. `mask`: fully transparent pixels mark the area to
        edit (None: the image's own alpha). `method`: "trained" (the *_inpaint networks), "zero-shot"
        (RePaint on the plain cascade) or "auto". Also `mask_mode` ("alpha", "white-edits",
        "black-edits"), `fit` ("crop" | "pad"), `resample`, `blend` (px), `context_weight` (0..1: how far
        the fill's image embedding leans from the prompt toward the kept picture; default the model's
        `edit_context`); see `editing.inpaint.edit`."""
        from unclip.pipeline.editing.inpaint import edit

        images = edit(self, image, mask, prompt, n, size, seed, method, progress, **stage_settings)  # type: ignore[arg-type]
        return self._origin(images, "edit", image)

    def edit_method(self, outpaint: bool = False) -> str:
        """The method an edit with `method="auto"` uses with this model ("trained" or "zero-shot");
        `outpaint=True`: the one outpainting uses (the model's `sampling.outpaint_method`). For callers
        that outpaint through `edit`, one frame at a time, as the web editor does."""
        from unclip.pipeline.editing.inpaint import resolve_method

        preferred = self.cascade.sampling.outpaint_method if outpaint else "auto"
        return resolve_method(self, "auto", preferred)

    def outpaint(self, image: Image.Image, left: int = 0, right: int = 0, top: int = 0, bottom: int = 0,
                 prompt: str = "", **kwargs: Any) -> list[Image.Image]:
        """Extend `image` by margins (RGB results), or fill one `size` px generation `frame=(x, y)` placed
        relative to the image's top-left corner (RGBA results: unfilled canvas stays transparent).
        Also n, size (frame side), seed, method, progress, overlap, resample, blend, context_weight (as in
        `edit`), stage settings."""
        from unclip.pipeline.editing.outpaint import outpaint

        return self._origin(outpaint(self, image, left, right, top, bottom, prompt, **kwargs), "outpaint", image)

    def vary(self, image: Image.Image, n: int = 1, size: int = 256, seed: int | None = None, drift: float = 0.0,
             progress: bool = False, keep: float | None = None, **stage_settings: Any) -> list[Image.Image]:
        """`n` variations of `image` (CLIP image embedding -> decoder -> upsamplers); `drift` 0..1 lets
        the embedding move toward random directions (0: decoder noise only); `keep` 0..<1 starts the
        decoder from the source noised (1 - keep) of the way (0: pure noise, the paper's; None: the
        model's `sampling.vary_keep`). Also fit ("crop" or "pad") and stage settings."""
        from unclip.pipeline.editing.variations import vary

        return self._origin(vary(self, image, n, size, seed, drift, progress, keep=keep, **stage_settings), "vary", image)

    def reconstruct(self, images: list[Image.Image], size: int = 64, seed: int | None = None,
                    progress: bool = False, **stage_settings: Any) -> list[Image.Image]:
        """Each image decoded from its own CLIP image embedding (decoder from pure noise, empty caption:
        the paper's variations at keep 0), one result per image, in one batch. What a picture looks like
        after CLIP and the decoder: `unclip eval` scores these with its judge. Also fit, stage settings."""
        from unclip.pipeline.editing.variations import reconstruct

        return reconstruct(self, images, size, seed, progress=progress, **stage_settings)

    def interpolate(self, a: Image.Image, b: Image.Image, frames: int = 8, **kwargs: Any) -> list[Image.Image]:
        """`frames` images from `a` to `b` (slerp of CLIP image embeddings; decoder noise from DDIM
        inversion of `a`, `noise="invert-both"` or `"random"`). Also size, seed, progress, stage settings."""
        from unclip.pipeline.editing.interpolate import interpolate

        return self._origin(interpolate(self, a, b, frames, **kwargs), "interpolate", a, b)

    def text_diff(self, image: Image.Image, from_caption: str, to_caption: str, frames: int = 5,
                  **kwargs: Any) -> list[Image.Image]:
        """`frames` images moving `image` from `from_caption` toward `to_caption` (slerp toward the
        normalised text-embedding difference, up to `strength` 0.5). Also size, seed, progress."""
        from unclip.pipeline.editing.text_diff import text_diff

        return self._origin(text_diff(self, image, from_caption, to_caption, frames, **kwargs), "text_diff", image)
