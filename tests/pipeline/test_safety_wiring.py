"""The content policy guards every generating entry point of the Python API and the CLI."""

import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from unclip.pipeline.unclip_pipeline import UnCLIP
from unclip.safety import ContentPolicyViolation

FAST = {"prior_steps": 1, "decoder_steps": 1, "prior_candidates": 1}
REFUSED = "a severed head on a spike"


@pytest.fixture(scope="module")
def pipe(tiny_cascade):
    return UnCLIP(tiny_cascade, device="cpu")


def test_refused_prompt_raises_before_any_generation(pipe, monkeypatch):
    calls = []
    monkeypatch.setattr(pipe, "encode_prompts", lambda p: calls.append(p))  # would run first
    with pytest.raises(ContentPolicyViolation) as info:
        pipe.generate(["a red apple", REFUSED], size=64, **FAST)
    assert info.value.category == "violence/graphic"
    assert calls == []


def test_benign_prompt_with_a_risky_word_passes(pipe):
    assert len(pipe.generate("kill the lights in a cosy room", size=64, seed=0, **FAST)) == 1


def test_face_upload_is_refused_for_variations_and_edits(pipe):
    from skimage import data

    face = Image.fromarray(data.astronaut())
    with pytest.raises(ContentPolicyViolation) as info:
        pipe.vary(face, size=64, **FAST)
    assert info.value.category == "faces"
    mask = Image.new("RGBA", face.size, (0, 0, 0, 255))
    mask.paste((0, 0, 0, 0), (0, 0, 100, 100))
    with pytest.raises(ContentPolicyViolation):
        pipe.edit(face, mask, "a hat", size=64, **FAST)


def test_safety_off_is_explicit_and_allows(tiny_cascade, caplog):
    off = UnCLIP(tiny_cascade, device="cpu", safety=False)
    assert len(off.generate(REFUSED, size=64, seed=0, **FAST)) == 1
    cat = Image.fromarray(np.full((64, 64, 3), 128, np.uint8))
    assert len(off.vary(cat, size=64, seed=0, **FAST)) == 1


def run_cli(*args):
    return subprocess.run(
        [sys.executable, "-m", "unclip.cli.main", *args],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def test_cli_refusal_exits_3_with_the_category(tiny_model_dir, tmp_path):
    proc = run_cli(
        "generate",
        REFUSED,
        "--size",
        "64",
        "--model",
        str(tiny_model_dir),
        "-o",
        str(tmp_path),
        "--prior-steps",
        "1",
        "--decoder-steps",
        "1",
    )
    assert proc.returncode == 3
    assert "rejected as a result of our safety system" in proc.stderr and "violence/graphic" in proc.stderr
    assert "Traceback" not in proc.stderr and not list(tmp_path.iterdir())
    ok = run_cli(
        "generate",
        REFUSED,
        "--size",
        "64",
        "--model",
        str(tiny_model_dir),
        "-o",
        str(tmp_path),
        "--prior-steps",
        "1",
        "--decoder-steps",
        "1",
        "--no-safety",
    )
    assert ok.returncode == 0 and "content policy is OFF" in ok.stderr
    assert len(list(tmp_path.glob("*.png"))) == 1
