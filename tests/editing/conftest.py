"""Fixtures for the editing tests: a *micro* random cascade (narrower U-Nets than the shared "tiny"
preset, with all three inpainting networks), so that 256, 512 and 1024 px runs stay cheap on CPU."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
import torch
from PIL import Image

from unclip.cascade.container import Cascade
from unclip.cascade.presets import build_cascade, randomize_zero_layers
from unclip.cascade.settings import SamplingConfig, StageSampling
from unclip.models.decoder import Decoder, DecoderConfig
from unclip.models.unet import UNetConfig
from unclip.models.upsampler import Upsampler, UpsamplerConfig

# Few steps and no guidance: the tests check mechanics (masks, sizes, exactness, determinism), not
# quality. (Guided sampling runs in the 256 px exactness test, which passes its own guidance.)
FAST = {
    "prior_steps": 1,
    "prior_guidance": 1.0,
    "decoder_steps": 2,
    "decoder_guidance": 1.0,
    "upsampler_256_steps": 1,
    "upsampler_1024_steps": 1,
    "prior_candidates": 1,
}


def _narrow(unet: UNetConfig, channels: tuple[int, ...], in_channels: int) -> UNetConfig:
    return replace(unet, channels=channels, groups=4, head_channels=channels[-1], in_channels=in_channels)


def micro_cascade(tokenizer) -> Cascade:  # type: ignore[no-untyped-def]
    base = build_cascade("tiny", tokenizer=tokenizer, randomize=False)
    modules = dict(base.modules)
    dec: DecoderConfig = base.decoder.config
    torch.manual_seed(0)
    for inpainting in (False, True):
        suffix = "_inpaint" if inpainting else ""
        extra = 4 if inpainting else 0
        modules["decoder" + suffix] = Decoder(
            replace(dec, inpainting=inpainting, unet=_narrow(dec.unet, (8, 16), 3 + extra))
        )
        for res in (256, 1024):
            cfg: UpsamplerConfig = base.upsampler(res).config  # type: ignore[union-attr]
            modules[f"upsampler_{res}{suffix}"] = Upsampler(
                replace(cfg, inpainting=inpainting, unet=_narrow(cfg.unet, (4, 8), 6 + extra))
            )
    for m in modules.values():
        randomize_zero_layers(m)
    sampling = SamplingConfig(
        prior=StageSampling("ddpm", 2, 4.0),
        decoder=StageSampling("ddpm", 2, 4.0),
        upsampler_256=StageSampling("ddpm", 1, 1.0),
        upsampler_1024=StageSampling("ddim", 1, 1.0),
        prior_candidates=1,
    )
    return Cascade(tokenizer=base.tokenizer, modules=modules, sampling=sampling).eval()


@pytest.fixture(scope="session", autouse=True)
def one_thread():
    """One torch thread: on a shared, oversubscribed 2-core machine, two spinning threads per process
    made these tests about 5x slower than one."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="session")
def micro(tiny_tokenizer):
    from unclip.pipeline.unclip_pipeline import UnCLIP

    return UnCLIP(micro_cascade(tiny_tokenizer), device="cpu")


@pytest.fixture(scope="session")
def micro_plain(micro):
    """The same networks without the inpainting ones: "auto" must pick zero-shot."""
    from unclip.pipeline.unclip_pipeline import UnCLIP

    c = micro.cascade
    modules = {k: v for k, v in c.modules.items() if not k.endswith("_inpaint")}
    return UnCLIP(Cascade(c.tokenizer, modules, c.sampling), device="cpu")


@pytest.fixture(scope="session")
def micro_model_dir(micro, tmp_path_factory):
    path = tmp_path_factory.mktemp("models") / "micro"
    micro.save_pretrained(path)
    return path


def noise_image(w: int, h: int, seed: int = 0, mode: str = "RGB") -> Image.Image:
    rng = np.random.default_rng(seed)
    channels = 4 if mode == "RGBA" else 3
    arr = rng.integers(0, 256, (h, w, channels), dtype=np.uint8)
    if mode == "RGBA":
        arr[..., 3] = 255
    return Image.fromarray(arr, mode)


def box_mask(size: int, box: tuple[int, int, int, int]) -> Image.Image:
    """An RGBA mask of `size`, opaque except the fully transparent `box` (left, top, right, bottom)."""
    mask = Image.new("RGBA", (size, size), (0, 0, 0, 255))
    mask.paste((0, 0, 0, 0), box)
    return mask
