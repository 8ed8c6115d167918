"""End to end: unclip's generate on the converted directory vs diffusers' UnCLIPPipeline on the
original, same seed, Karlo's sampler settings (25 / 25 / 7 DDPM steps, guidance 4 and 8).

Both draw from one generator in the same order (prior latents, per-step prior noise, decoder latents,
per-step decoder noise, super-res latents, per-step noise). diffusers' UnCLIPScheduler does its
arithmetic in float32, Karlo's original code and unclip in float64; the visible consequence is that
diffusers' last step scales x0 by betas[0] / (1 - alphas_cumprod[0]) = 0.99947 instead of 1, which a
random (untrained) decoder at guidance 8 amplifies. Hence two checks: against diffusers as shipped
(mean abs diff < 1e-3 in [0, 1]) and against diffusers with float64 scheduler arithmetic, where only
float32 rounding of the networks remains (mean abs diff < 2e-5).
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from unclip.cascade import stages
from unclip.pipeline.unclip_pipeline import UnCLIP

PROMPTS = ["a red apple", "a cat sitting on a mat"]
SEED = 7


@pytest.fixture(scope="module")
def ours(converted):
    images = UnCLIP(converted, device="cpu").generate_tensors(PROMPTS, n=1, size=256, seed=SEED)
    return ((images + 1) / 2).permute(0, 2, 3, 1).numpy()


def reference_images(parts, karlo_tok, float64: bool) -> np.ndarray:
    from unclip.convert.reference import text_pipeline, use_float64_schedulers

    parts = dict(parts)
    if float64:
        use_float64_schedulers(parts)
    pipe = text_pipeline(parts, karlo_tok)
    pipe.set_progress_bar_config(disable=True)
    return pipe(PROMPTS, generator=torch.Generator().manual_seed(SEED), output_type="np").images


def test_generate_matches_diffusers_unclip_pipeline(ours, parts, karlo_tok):
    ref = reference_images(parts, karlo_tok, float64=False)
    assert ours.shape == ref.shape == (2, 256, 256, 3)
    assert np.abs(ours - ref).mean() < 1e-3
    assert np.abs(ours[0] - ours[1]).mean() > 0.05  # the prompts give different images


def test_generate_equals_diffusers_with_float64_scheduler_arithmetic(ours, parts, karlo_tok):
    diff = np.abs(ours - reference_images(parts, karlo_tok, float64=True))
    assert diff.mean() < 2e-5
    assert diff.max() < 0.05  # float32 rounding amplified by the random nets, but no diverging pixel


def test_variation_decoding_matches_diffusers(parts, karlo_tok, converted):
    """What `vary` needs: decode a given CLIP image embedding with the empty caption, then upsample
    (diffusers' UnCLIPImageVariationPipeline with precomputed image embeddings)."""
    from unclip.convert.reference import use_float64_schedulers, variation_pipeline

    parts = dict(parts)
    use_float64_schedulers(parts)
    pipe = variation_pipeline(parts, karlo_tok)
    pipe.set_progress_bar_config(disable=True)
    embeds = torch.randn(1, 24, generator=torch.Generator().manual_seed(3))
    ref = pipe(
        image_embeddings=embeds, generator=torch.Generator().manual_seed(SEED), output_type="np"
    ).images

    u = UnCLIP(converted, device="cpu")
    g = u.generator(SEED)
    empty = u.empty_text()
    small = stages.run_decoder(converted.decoder, embeds, empty, empty, converted.sampling.decoder, g).clamp(
        -1, 1
    )
    images = u.upsample_to(small, 256, converted.sampling, g).clamp(-1, 1)
    ours = ((images + 1) / 2).permute(0, 2, 3, 1).numpy()
    assert np.abs(ours - ref).mean() < 2e-5


def test_generate_cli_runs_on_the_converted_directory(converted_dir, tmp_path, capsys):
    from PIL import Image

    from unclip.cli.main import main

    fast = ["--prior-steps", "2", "--decoder-steps", "2", "--upsampler-256-steps", "2"]
    assert (
        main(
            [
                "generate",
                "a red apple",
                "--model",
                str(converted_dir),
                "--seed",
                "1",
                "-o",
                str(tmp_path),
                *fast,
            ]
        )
        == 0
    )
    (path,) = capsys.readouterr().out.split()
    assert Image.open(path).size == (256, 256)
