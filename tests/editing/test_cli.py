"""The editing subcommands: outputs, what they say about input sizes, and clear errors (exit 2, one
line, no traceback)."""

from __future__ import annotations

import subprocess
import sys

import pytest
from PIL import Image

from unclip.cli.main import main

from .conftest import box_mask, noise_image
from .test_masks_and_inputs import png_claiming

STEPS = ["--decoder-steps", "2", "--decoder-guidance", "1", "--upsampler-256-steps", "1", "--threads", "1"]
PRIOR = ["--prior-steps", "1", "--prior-guidance", "1", "--prior-candidates", "1"]


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    d = tmp_path_factory.mktemp("cli")
    noise_image(300, 200, seed=1).save(d / "photo.png")
    noise_image(64, 64, seed=2).save(d / "square.png")
    bw = Image.new("L", (300, 200), 0)
    bw.paste(255, (120, 60, 200, 140))
    bw.save(d / "bw.png")
    box_mask(64, (0, 0, 10, 10)).save(d / "small_mask.png")
    Image.new("RGBA", (64, 64), (0, 0, 0, 255)).save(d / "opaque_mask.png")
    (d / "corrupt.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 40)
    (d / "bomb.png").write_bytes(png_claiming(10_000, 10_000))
    return d


def cli(capsys, *args: str) -> tuple[int, str, str]:
    code = main([str(a) for a in args])
    out, err = capsys.readouterr()
    return code, out, err


def test_edit_explains_the_resize_and_writes_pngs(micro_model_dir, files, tmp_path):
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "unclip.cli.main",
            "edit",
            str(files / "photo.png"),
            "a red apple",
            "--mask",
            str(files / "bw.png"),
            "--mask-mode",
            "white-edits",
            "--size",
            "64",
            "-n",
            "2",
            "--seed",
            "1",
            "-o",
            str(tmp_path),
            "--model",
            str(micro_model_dir),
            *STEPS,
            *PRIOR,
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert "resizing 300x200 to 64x64 after centre-cropping to 200x200" in proc.stderr
    paths = proc.stdout.split()
    assert len(paths) == 2 and all(Image.open(p).size == (64, 64) for p in paths)


def test_outpaint_vary_interpolate_textdiff(micro_model_dir, files, tmp_path, capsys):
    model = ["--model", micro_model_dir, *STEPS, "-o", tmp_path]
    code, out, err = cli(
        capsys,
        "outpaint",
        files / "square.png",
        "--left",
        "32",
        "--bottom",
        "8",
        "--frame-size",
        "64",
        "--seed",
        "0",
        *model,
        *PRIOR,
    )
    assert code == 0 and "64x64 picture at 32,0 on a 96x72 canvas; filling 3 frames of 64x64 px" in err
    assert Image.open(out.split()[0]).size == (96, 72)
    code, out, err = cli(
        capsys,
        "outpaint",
        files / "square.png",
        "a cat",
        "--frame",
        "40,-20",
        "--frame-size",
        "64",
        *model,
        *PRIOR,
    )
    assert code == 0 and Image.open(out.split()[0]).mode == "RGBA"
    code, out, err = cli(
        capsys, "vary", files / "photo.png", "-n", "2", "--size", "64", "--keep", "0.5", *model
    )
    assert code == 0 and len(out.split()) == 2 and "centre-cropping to 200x200" in err
    code, out, err = cli(
        capsys,
        "interpolate",
        files / "photo.png",
        files / "square.png",
        "--frames",
        "3",
        "--size",
        "64",
        "--gif",
        *model,
    )
    paths = out.split()
    assert (
        code == 0
        and [p[-8:] for p in paths[:3]] == ["-f00.png", "-f01.png", "-f02.png"]
        and paths[3].endswith(".gif")
    )
    code, out, err = cli(
        capsys, "textdiff", files / "square.png", "a cat", "a dog", "--frames", "2", "--size", "64", *model
    )
    assert code == 0 and len(out.split()) == 2


def test_a_corrupt_file_is_one_clear_line_without_traceback(micro_model_dir, files):
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "unclip.cli.main",
            "vary",
            str(files / "corrupt.png"),
            "--model",
            str(micro_model_dir),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert proc.returncode == 2
    assert proc.stderr.startswith("unclip: error: image ") and "corrupt.png" in proc.stderr
    assert "Traceback" not in proc.stderr


@pytest.mark.parametrize(
    "args, message",
    [
        (
            ["edit", "square.png", "x", "--mask", "photo.png"],
            "mask: size 300x200 does not match the image's 64x64",
        ),
        (["edit", "square.png", "x", "--mask", "opaque_mask.png"], "covers nothing"),
        (["edit", "square.png", "x"], "no alpha channel"),
        (["edit", "bomb.png", "x"], "100 megapixels"),
        (["edit", "square.png", "x", "--mask", "missing.png"], "no such file"),
        (["outpaint", "square.png", "--frame", "500,500", "--frame-size", "64"], "does not overlap"),
        (
            ["outpaint", "square.png", "--right", "32", "--frame-size", "64", "--context-weight", "2"],
            "context_weight: must be between 0 and 1, got 2.0",
        ),
        (["interpolate", "square.png", "bomb.png"], "image B"),
        (["textdiff", "square.png", "a cat", "a cat", "--size", "64"], "same"),
        (["vary", "square.png", "--keep", "1"], "--keep: must be a number at least 0 and below 1, got 1.0"),
        (["vary", "square.png", "--drift", "-0.5"], "--drift: must be a number between 0 and 1"),
    ],
)
def test_bad_inputs_exit_2_with_a_message(micro_model_dir, files, capsys, args, message):
    args = [str(files / a) if a.endswith(".png") else a for a in args]
    code, _, err = cli(capsys, *args, "--model", micro_model_dir, "--threads", "1")
    last = err.strip().splitlines()[-1]
    assert code == 2 and last.startswith("unclip: error:") and message in last
