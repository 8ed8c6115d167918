"""Bit-identity of the default model's outputs: generate, edit (trained and zero-shot), outpaint and vary
with fixed seeds give exactly the pixels recorded here. A refactor that is meant to change nothing must
leave these hashes alone; a change that is meant to change outputs records new ones (run this file as a
script: `python tests/pipeline/test_golden_hashes.py` prints them).

CPU float32 with one torch thread (as every test runs: tests/conftest.py). Floating-point kernels differ
between CPU instruction sets and torch versions, so the hashes are recorded per (torch version, CPU
capability); on a machine with no recorded hashes the test says so and skips.
"""

from __future__ import annotations

import hashlib

import pytest
import torch
from PIL import Image, ImageDraw

from unclip.pipeline.unclip_pipeline import UnCLIP

FAST = {"prior_steps": 4, "decoder_steps": 4, "upsampler_256_steps": 2}

# (torch version, torch.backends.cpu.get_cpu_capability()) -> case -> sha256 of each output's mode, size, pixels
GOLDEN: dict[tuple[str, str], dict[str, list[str]]] = {
    ("2.13.0+cpu", "AVX512"): {
        "generate": [
            "2be73fa0cfb8c8c8dc813235754ff2bd6e9c015c3a0bb8d331b09a22412ce358",
            "05976dc5376242d7933552b006b8ce3aa8960712d7ce901d795391dee201ea00",
        ],
        "generate_256": [
            "9cb7e0ece78f1bf6b3fb3423a249380c251b7c5d0d1d8a8229553d81ef916975",
        ],
        "edit": [
            "d870bfa21f4b1308107d40e92ce3b192d974380bb7524f8542ef078eb341cdc2",
        ],
        "edit_zero_shot": [
            "2cb819e4b60e47e5545977c41ddff900bcc5898163295cfe3855ff7ec5417741",
        ],
        "outpaint": [
            "9492bc7d4bdcca9ff0064bdf6b618b5f98b7bc44e1e365ee11abbe36617532fd",
        ],
        "vary": [
            "255a543506424bd8bc6899f96a53b3f5161fc75bc5008c8545d4884756f5b4c4",
            "b9a32184956660c4ad2bc2b761929bb15367cc324805334892eba2594293ed52",
        ],
    },
}


def _picture() -> Image.Image:
    image = Image.new("RGB", (64, 64), "white")
    draw = ImageDraw.Draw(image)
    draw.ellipse((8, 8, 56, 56), fill=(230, 60, 40))
    draw.rectangle((28, 2, 36, 14), fill=(40, 140, 40))
    return image


def _mask() -> Image.Image:
    mask = Image.new("RGBA", (64, 64), (0, 0, 0, 255))
    ImageDraw.Draw(mask).rectangle((16, 16, 47, 47), fill=(0, 0, 0, 0))  # transparent: the area to edit
    return mask


def _hashes(images: list[Image.Image]) -> list[str]:
    return [hashlib.sha256(f"{i.mode}{i.size}".encode() + i.tobytes()).hexdigest() for i in images]


def outputs(pipe: UnCLIP) -> dict[str, list[str]]:
    """The recorded cases: each a few steps at 64 px (one at 256 px, through the upsampler)."""
    pic, mask = _picture(), _mask()
    return {
        "generate": _hashes(pipe.generate("red apple", n=2, size=64, seed=1, **FAST)),
        "generate_256": _hashes(pipe.generate("red apple", n=1, size=256, seed=2, **FAST)),
        "edit": _hashes(pipe.edit(pic, mask, "blue heart", n=1, size=64, seed=3, **FAST)),
        "edit_zero_shot": _hashes(
            pipe.edit(pic, mask, "blue heart", n=1, size=64, seed=3, method="zero-shot", **FAST)
        ),
        "outpaint": _hashes(pipe.outpaint(pic, left=16, right=16, prompt="sun", size=64, seed=4, **FAST)),
        "vary": _hashes(pipe.vary(pic, n=2, size=64, seed=5, **FAST)),
    }


def machine() -> tuple[str, str]:
    return torch.__version__, torch.backends.cpu.get_cpu_capability()


def test_default_model_outputs_are_bit_identical_to_the_recorded_ones():
    if machine() not in GOLDEN:
        pytest.skip(f"no hashes recorded for {machine()}; record them with this file run as a script")
    torch.set_num_threads(1)
    pipe = UnCLIP.from_pretrained(device="cpu", dtype=torch.float32, safety=False)
    got = outputs(pipe)
    expected = GOLDEN[machine()]
    assert got.keys() == expected.keys()
    for case in expected:
        assert got[case] == expected[case], f"{case}: the pixels changed"


if __name__ == "__main__":
    torch.set_num_threads(1)
    print(repr(machine()), outputs(UnCLIP.from_pretrained(device="cpu", dtype=torch.float32, safety=False)))
