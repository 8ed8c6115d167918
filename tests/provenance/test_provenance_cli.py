"""Every PNG the CLI writes carries the invisible watermark and a C2PA manifest that c2pa's own reader
validates; `unclip verify` reports valid / tampered / absent and the watermark; bad key files and files
that are not PNGs are clear errors."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

import c2pa
import numpy as np
import pytest
from PIL import Image

from unclip.provenance.pngchunks import replace_pixels

from .keys import operator_key

FAST = ["--prior-steps", "2", "--decoder-steps", "2", "--upsampler-256-steps", "1", "--prior-candidates", "1"]


def unclip(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "unclip.cli.main", *args],
        check=False,
        capture_output=True,
        text=True,
        timeout=600,
    )


def c2pa_read(data: bytes) -> tuple[str, dict]:
    with c2pa.Reader("image/png", io.BytesIO(data)) as reader:
        return reader.get_validation_state(), reader.get_active_manifest()


@pytest.fixture(scope="module")
def generated(tiny_model_dir, tmp_path_factory):
    out = tmp_path_factory.mktemp("out")
    done = unclip(
        "generate",
        "a red apple",
        "-n",
        "2",
        "--size",
        "256",
        "--seed",
        "7",
        "-o",
        str(out),
        "--model",
        str(tiny_model_dir),
        *FAST,
    )
    assert done.returncode == 0, done.stderr
    return [p for p in done.stdout.split()]


def test_generated_files_carry_a_valid_manifest_naming_unclip_and_the_model(generated):
    for path in generated:
        state, manifest = c2pa_read(Path(path).read_bytes())
        assert state == "Valid"  # c2pa's own validation (a local key: valid, on no trust list)
        assert manifest["claim_generator_info"][0]["name"] == "unclip"
        (actions,) = [a for a in manifest["assertions"] if a["label"].startswith("c2pa.actions")]
        (created,) = actions["data"]["actions"]
        assert created["action"] == "c2pa.created"
        assert created["digitalSourceType"].endswith("/trainedAlgorithmicMedia")
        assert created["parameters"]["org.unclip.model"] == "unclip model tiny"
        assert manifest["signature_info"]["common_name"] == "unclip signer"


def test_verify_reports_manifest_and_watermark(generated):
    done = unclip("verify", generated[0])
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].startswith("C2PA manifest: valid: generate by unclip with model 'unclip model tiny'")
    assert lines[1].startswith("invisible watermark: present (48/48 identifier bits at 256x256)")
    assert lines[2] == "visible signature: absent"


def test_verify_says_tampered_when_a_pixel_changed_after_signing(generated, tmp_path):
    data = Path(generated[0]).read_bytes()
    pixels = np.asarray(Image.open(io.BytesIO(data)).convert("RGB")).copy()
    pixels[100, 100] = 255 - pixels[100, 100]
    changed = tmp_path / "changed.png"
    changed.write_bytes(replace_pixels(data, Image.fromarray(pixels)))  # same manifest, other pixels
    assert c2pa_read(changed.read_bytes())[0] == "Invalid"
    done = unclip("verify", str(changed))
    assert done.returncode == 1
    assert done.stdout.startswith(
        "C2PA manifest: TAMPERED: the manifest does not match the file (assertion.dataHash.mismatch)"
    )


def test_a_copy_without_the_manifest_still_has_the_watermark(generated, tmp_path):
    """(JPEG and resizing are measured on the default model's outputs by benchmarks/provenance.py; the
    tiny random model's outputs are noise, which JPEG does not keep.)"""
    copy = tmp_path / "copy.png"
    Image.open(generated[0]).save(copy)  # PIL drops the C2PA chunk
    done = unclip("verify", str(copy))
    assert done.returncode == 0, done.stdout
    assert "C2PA manifest: absent" in done.stdout and "invisible watermark: present" in done.stdout


def test_an_unmarked_image_is_reported_as_such(tmp_path):
    plain = tmp_path / "plain.png"
    Image.fromarray(np.random.default_rng(0).integers(0, 256, (256, 256, 3), dtype=np.uint8)).save(plain)
    done = unclip("verify", str(plain))
    assert done.returncode == 1
    assert "C2PA manifest: absent" in done.stdout and "invisible watermark: absent" in done.stdout


def test_verify_names_a_file_that_is_not_a_png(tmp_path):
    jpeg = tmp_path / "photo.jpg"
    Image.new("RGB", (8, 8)).save(jpeg)
    text = tmp_path / "notes.png"
    text.write_text("hello")
    for path, kind in (
        (jpeg, "a JPEG file"),
        (text, "not a PNG file"),
        (tmp_path / "missing.png", "cannot read"),
    ):
        done = unclip("verify", str(path))
        assert done.returncode == 2 and "Traceback" not in done.stderr
        assert done.stderr.startswith(f"unclip: error: {path}: {kind}"), done.stderr


def test_signature_flag_and_operator_key(tiny_model_dir, tmp_path):
    cert, key = operator_key(tmp_path)
    done = unclip(
        "generate",
        "a blue car",
        "--size",
        "256",
        "--seed",
        "1",
        "-o",
        str(tmp_path / "out"),
        "--model",
        str(tiny_model_dir),
        "--signature",
        "--signing-cert",
        str(cert),
        "--signing-key",
        str(key),
        *FAST,
    )
    assert done.returncode == 0, done.stderr
    (path,) = done.stdout.split()
    state, manifest = c2pa_read(Path(path).read_bytes())
    assert state == "Valid" and manifest["signature_info"]["common_name"] == "Example Studio signer"
    report = unclip("verify", path, "--json")
    assert "visible signature: present" in report.stdout and "invisible watermark: present" in report.stdout
    assert json.loads(report.stdout[report.stdout.index("{") :])["active_manifest"]
    corner = np.asarray(Image.open(path).convert("RGB"))[-2, -2]  # the blue square, lower right
    assert abs(int(corner[2]) - 255) < 40 and corner[0] < 100


@pytest.mark.parametrize("problem", ["not pem", "wrong key", "encrypted"])
def test_a_bad_key_file_is_a_clear_error_before_any_work(tiny_model_dir, tmp_path, problem):
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    cert, key = operator_key(tmp_path)
    if problem == "not pem":
        cert.write_text("this is not a certificate\n")
        expected = f"{cert}: no PEM certificate found"
    elif problem == "wrong key":
        other = ec.generate_private_key(ec.SECP256R1())
        key.write_bytes(
            other.private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            )
        )
        expected = f"{key}: this private key does not belong to the first certificate in {cert}"
    else:
        other = ec.generate_private_key(ec.SECP256R1())
        key.write_bytes(
            other.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.BestAvailableEncryption(b"secret"),
            )
        )
        expected = f"{key}: the private key is encrypted"
    done = unclip(
        "generate",
        "a cat",
        "--size",
        "64",
        "-o",
        str(tmp_path / "out"),
        "--model",
        str(tiny_model_dir),
        "--signing-cert",
        str(cert),
        "--signing-key",
        str(key),
        *FAST,
    )
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert done.stderr.strip().splitlines()[-1].startswith(f"unclip: error: {expected}")
    assert "decoder" not in done.stderr and not (tmp_path / "out").exists()  # refused before sampling


def test_interpolation_frames_and_gif_carry_manifests_naming_both_inputs(tiny_model_dir, tmp_path):
    rng = np.random.default_rng(0)
    for name in ("a", "b"):
        Image.fromarray(rng.integers(0, 256, (64, 64, 3), dtype=np.uint8)).save(tmp_path / f"{name}.png")
    done = unclip(
        "interpolate",
        str(tmp_path / "a.png"),
        str(tmp_path / "b.png"),
        "--frames",
        "3",
        "--size",
        "64",
        "--gif",
        "-o",
        str(tmp_path / "out"),
        "--model",
        str(tiny_model_dir),
        "--decoder-steps",
        "2",
    )
    assert done.returncode == 0, done.stderr
    *frames, gif = done.stdout.split()
    assert len(frames) == 3 and gif.endswith(".gif")
    for path in frames:
        state, manifest = c2pa_read(Path(path).read_bytes())
        assert state == "Valid" and [i["relationship"] for i in manifest["ingredients"]] == [
            "inputTo",
            "inputTo",
        ]
    with c2pa.Reader("image/gif", io.BytesIO(Path(gif).read_bytes())) as reader:
        assert reader.get_validation_state() == "Valid"
        (ours,) = [
            a for a in reader.get_active_manifest()["assertions"] if a["label"] == "org.unclip.generation"
        ]
    assert ours["data"]["operation"] == "interpolate" and ours["data"]["inputs"] == 2
    report = unclip("verify", frames[0])
    assert (
        "invisible watermark: absent (an image under 256x256 px, too small for unclip to mark"
        in report.stdout
    )
    assert report.returncode == 0  # the manifest marks it


def test_a_damaged_png_is_reported_not_a_traceback(generated, tmp_path):
    damaged = tmp_path / "damaged.png"
    damaged.write_bytes(Path(generated[0]).read_bytes()[:3000])  # cut short
    done = unclip("verify", str(damaged))
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert done.stdout.startswith("C2PA manifest: TAMPERED or damaged: c2pa cannot parse the file")
    assert "invisible watermark: cannot be read (damaged image data" in done.stdout


def test_an_output_the_policy_refuses_is_never_written(tiny_model_dir, tmp_path):
    """A policy that fails closed without its nudity model (here: a file that does not exist) refuses every
    output: nothing is marked, signed or written, and the command exits 3 with DALL-E's message."""
    policy = tmp_path / "strict.toml"
    policy.write_text('[images]\nwhen_unavailable = "refuse"\nnudity_model = "no-such-320n.onnx"\n')
    out = tmp_path / "out"
    done = unclip(
        "generate",
        "a red apple",
        "--size",
        "256",
        "-o",
        str(out),
        "--model",
        str(tiny_model_dir),
        "--policy",
        str(policy),
        *FAST,
    )
    assert done.returncode == 3 and "The generated image may contain content" in done.stderr
    assert not out.exists() or not any(out.iterdir())
