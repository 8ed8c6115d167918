"""Half-precision weights give the fp32 result closely (the samplers themselves always run in fp32)."""

import copy

import pytest
import torch

from unclip.models.clip import TextEncoding
from unclip.pipeline.unclip_pipeline import UnCLIP
from unclip.utils.device import auto_dtype, cpu_has_native_bf16

SETTINGS = {
    "prior_steps": 4,
    "decoder_steps": 4,
    "upsampler_256_steps": 2,
    "prior_candidates": 1,
    "prior_sampler": "ddim",
    "decoder_sampler": "ddim",
    "upsampler_256_sampler": "ddim",
}


def rel_err(a: torch.Tensor, b: torch.Tensor) -> float:
    return ((a.float() - b.float()).norm() / a.float().norm()).item()


def test_each_network_in_bf16_matches_fp32(tiny_cascade):
    """Per network, on small inputs (this CPU may emulate bf16 convolutions, which is very slow)."""
    half = copy.deepcopy(tiny_cascade).to(dtype=torch.bfloat16)
    g = torch.Generator().manual_seed(0)
    text = TextEncoding(
        torch.randn(2, 32, generator=g),
        torch.randn(2, 16, 32, generator=g),
        torch.ones(2, 16, dtype=torch.bool),
    )
    t = torch.tensor([30, 700])
    z = torch.randn(2, 32, generator=g)
    x = torch.randn(2, 3, 16, 16, generator=g)
    with torch.no_grad():
        pairs = {
            "prior": (tiny_cascade.prior(z, t, text), half.prior(z, t, text)),
            "decoder": (tiny_cascade.decoder(x, t, z, text), half.decoder(x, t, z, text)),
            "upsampler": (
                tiny_cascade.upsampler(256)(x, t, x[:, :, :4, :4]),
                half.upsampler(256)(x, t, x[:, :, :4, :4]),
            ),
        }
    for name, (full, low) in pairs.items():
        assert low.dtype == torch.bfloat16
        assert rel_err(full, low) < 0.03, name
        assert rel_err(full, torch.roll(full, 1, 0)) > 0.3  # the measure tells different outputs apart


@pytest.mark.skipif(not cpu_has_native_bf16(), reason="this CPU emulates bf16 (no AVX512-BF16/AMX): too slow")
def test_bf16_cascade_matches_fp32_closely(tiny_cascade):
    fp32 = UnCLIP(tiny_cascade, device="cpu", safety=False)
    bf16 = UnCLIP(copy.deepcopy(tiny_cascade).to(dtype=torch.bfloat16), device="cpu", safety=False)
    a = fp32.generate_tensors("a red apple", size=256, seed=1, **SETTINGS)
    b = bf16.generate_tensors("a red apple", size=256, seed=1, **SETTINGS)
    assert ((a - b).abs() / 2).mean().item() < 0.02


def test_auto_dtype_uses_bf16_only_where_the_cpu_has_it():
    assert auto_dtype(torch.device("cuda")) == torch.float16
    expected = torch.bfloat16 if cpu_has_native_bf16() else torch.float32
    assert auto_dtype(torch.device("cpu")) == expected
