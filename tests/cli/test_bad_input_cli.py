"""Bad input to the CLI: a clear `unclip: error: ...` (or argparse's usage error) naming what is wrong,
exit status 2, no traceback, no model work wasted, and never a user's file overwritten.

The commands run in-process (`main(argv)`): an uncaught exception would fail the test, as a traceback
would fail the user. Most checks happen before the model loads, so they cost little.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from PIL import Image

from unclip.cli.main import main

FAST = ["--prior-steps", "1", "--decoder-steps", "1", "--upsampler-256-steps", "1", "--prior-candidates", "1"]
DECODER_FAST = ["--decoder-steps", "1", "--upsampler-256-steps", "1"]


def fails(capsys: pytest.CaptureFixture[str], argv: list[str], *expected: str) -> str:
    """Run `unclip ARGV`; it must exit 2 with every expected text in stderr and no traceback."""
    try:
        rc = main(argv)
    except SystemExit as e:  # argparse's usage errors
        rc = e.code
    err = capsys.readouterr().err
    assert rc == 2, err
    assert "Traceback" not in err
    for text in expected:
        assert text in err, err
    return err


@pytest.fixture
def photo(tmp_path: Path) -> Path:
    path = tmp_path / "photo.png"
    Image.new("RGBA", (64, 64), (200, 10, 10, 0)).save(path)
    return path


def commands(photo: Path, model: Path) -> dict[str, list[str]]:
    m = ["--model", str(model), "--size", "64"]
    return {
        "generate": ["generate", "a red apple", *m, *FAST],
        "edit": ["edit", str(photo), "a red apple", *m, *FAST],
        "outpaint": [
            "outpaint",
            str(photo),
            "a red apple",
            "--left",
            "64",
            "--frame-size",
            "64",
            "--model",
            str(model),
            *FAST,
        ],
        "vary": ["vary", str(photo), "-n", "1", *m, *DECODER_FAST],
        "interpolate": ["interpolate", str(photo), str(photo), "--frames", "2", *m, *DECODER_FAST],
        "textdiff": ["textdiff", str(photo), "a cat", "a dog", "--frames", "2", *m, *DECODER_FAST],
    }


# ---------------------------------------------------------------------- output folders
@pytest.mark.parametrize("command", ["generate", "edit", "outpaint", "vary", "interpolate", "textdiff"])
def test_output_folder_that_is_a_file_is_refused_before_any_work(
    command, capsys, photo, tiny_model_dir, tmp_path
):
    existing = tmp_path / "notes.png"
    existing.write_bytes(b"the user's file")
    argv = commands(photo, tiny_model_dir)[command] + ["-o", str(existing)]
    fails(capsys, argv, f"-o/--out {existing}: exists and is not a folder")
    assert existing.read_bytes() == b"the user's file"


def test_output_folder_that_cannot_be_created(capsys, photo, tiny_model_dir, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    fails(
        capsys,
        commands(photo, tiny_model_dir)["generate"] + ["-o", str(blocker / "out")],
        f"-o/--out {blocker / 'out'}: cannot create the folder",
    )


# ---------------------------------------------------------------------- option values
@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (
            ["--prior-candidates", "0"],
            "argument --prior-candidates: must be a whole number of at least 1, got '0'",
        ),
        (["--threads", "-2"], "argument --threads: must be a whole number of at least 1, got '-2'"),
        (["--threads", "0"], "argument --threads: must be a whole number of at least 1, got '0'"),
        (["--prior-guidance", "nan"], "argument --prior-guidance: must be a finite number, got 'nan'"),
        (["--decoder-guidance", "inf"], "argument --decoder-guidance: must be a finite number, got 'inf'"),
        (["--device", "nonsense"], "unclip: error: --device 'nonsense': not a device name"),
        (["--seed", "-1"], "argument --seed: must be a whole number from 0 to 2**64 - 1, got '-1'"),
        (["--seed", str(2**64)], "argument --seed: must be a whole number from 0 to 2**64 - 1"),
        (["--seed", "1.5"], "argument --seed: expected a whole number, got '1.5'"),
    ],
)
def test_bad_generation_options_are_named(flags, message, capsys, photo, tiny_model_dir, tmp_path):
    argv = commands(photo, tiny_model_dir)["generate"] + flags + ["-o", str(tmp_path / "out")]
    fails(capsys, argv, message)


def test_unavailable_cuda_device_is_named(capsys, photo, tiny_model_dir, tmp_path):
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    argv = commands(photo, tiny_model_dir)["generate"] + ["--device", "cuda", "-o", str(tmp_path / "out")]
    fails(capsys, argv, "--device 'cuda': CUDA is not available here")


@pytest.mark.parametrize("prompts", [[""], ["   "], ["a cat", ""]])
def test_empty_generate_prompt_is_refused(prompts, capsys, tiny_model_dir, tmp_path):
    out = tmp_path / "out"
    where = "prompt 2" if len(prompts) > 1 else "prompt"
    fails(
        capsys,
        ["generate", *prompts, "--model", str(tiny_model_dir), "-o", str(out), *FAST],
        f"{where}: empty; describe the image to generate",
    )
    assert not out.exists() or not any(out.iterdir())


def test_prompt_that_is_not_utf8_is_refused(capsys, tiny_model_dir, tmp_path):
    prompt = b"caf\xe9".decode("utf-8", "surrogateescape")  # what Python makes of a Latin-1 argv
    fails(
        capsys,
        ["generate", prompt, "--model", str(tiny_model_dir), "-o", str(tmp_path / "out"), *FAST],
        "prompt: not valid UTF-8 text",
    )


@pytest.mark.parametrize("which", ["image", "mask"])
def test_folder_given_as_edit_image_or_mask(which, capsys, photo, tiny_model_dir, tmp_path):
    image = tmp_path if which == "image" else photo
    argv = [
        "edit",
        str(image),
        "x",
        "--mask",
        str(tmp_path),
        "--model",
        str(tiny_model_dir),
        "-o",
        str(tmp_path / "out"),
        *FAST,
    ]
    fails(capsys, argv, f"{which} {tmp_path}: is a folder, not an image file")


# ---------------------------------------------------------------------- train
def test_train_config_that_is_not_text(capsys, photo):
    fails(capsys, ["train", "prior", "--config", str(photo)], f"{photo}: not a UTF-8 text file")


def test_init_config_never_overwrites_without_overwrite(capsys, tmp_path):
    path = tmp_path / "prior.toml"
    path.write_text("my own config\n")
    fails(
        capsys,
        ["train", "init-config", "prior", "-o", str(path), "--preset", "tiny"],
        f"-o/--out {path}: already exists (pass --overwrite to replace it)",
    )
    assert path.read_text() == "my own config\n"
    assert main(["train", "init-config", "prior", "-o", str(path), "--preset", "tiny", "--overwrite"]) == 0
    assert "[prior" in path.read_text()


def test_init_config_into_a_folder_or_a_new_folder(capsys, tmp_path):
    fails(capsys, ["train", "init-config", "prior", "-o", str(tmp_path)], f"-o/--out {tmp_path}: is a folder")
    nested = tmp_path / "new" / "sub" / "prior.toml"
    assert main(["train", "init-config", "prior", "-o", str(nested), "--preset", "tiny"]) == 0
    assert nested.is_file()


def export_argv(model: Path, out: Path) -> list[str]:
    return [
        "train",
        "export",
        "-o",
        str(out),
        "--clip",
        str(model),
        "--prior",
        str(model),
        "--decoder",
        str(model),
        "--upsampler-256",
        str(model),
    ]


def test_export_refuses_a_non_empty_folder_and_a_file(capsys, tiny_model_dir, tmp_path):
    out = tmp_path / "model"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    fails(
        capsys,
        export_argv(tiny_model_dir, out),
        f"-o/--out {out}: already exists and is not empty (pass --overwrite to write into it)",
    )
    assert sorted(p.name for p in out.iterdir()) == ["keep.txt"]
    fails(capsys, export_argv(tiny_model_dir, out / "keep.txt"), "exists and is not a folder")


# ---------------------------------------------------------------------- eval, embed
def test_eval_checks_its_outputs_and_numbers_before_generating(capsys, tiny_model_dir, tmp_path):
    report = tmp_path / "report.json"
    report.write_text('{"mine": true}')
    base = ["eval", "--data", str(tmp_path), "--model", str(tiny_model_dir), *FAST]
    fails(capsys, base + ["--json", str(report)], f"--json {report}: already exists (pass --overwrite")
    assert json.loads(report.read_text()) == {"mine": True}
    fails(capsys, base + ["--json", str(tmp_path)], f"--json {tmp_path}: is a folder")
    fails(
        capsys, base + ["--save-images", str(report)], f"--save-images {report}: exists and is not a folder"
    )
    fails(capsys, base + ["--batch", "0"], "argument --batch: must be a whole number of at least 1")
    fails(capsys, base + ["--prompts", "0"], "argument --prompts: must be a whole number of at least 1")


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--batch-size", "0"], "argument --batch-size: must be a whole number of at least 1"),
        (["--shard-size", "0"], "argument --shard-size: must be a whole number of at least 1"),
        (["--num-workers", "-1"], "argument --num-workers: must be a whole number of at least 0"),
    ],
)
def test_embed_numbers(flags, message, capsys, tiny_model_dir, tmp_path):
    fails(
        capsys,
        [
            "embed",
            "--clip",
            str(tiny_model_dir),
            "--data",
            str(tmp_path),
            "--out",
            str(tmp_path / "e"),
            *flags,
        ],
        message,
    )


def test_embed_out_that_is_a_file(capsys, photo, tiny_model_dir, tmp_path):
    fails(
        capsys,
        ["embed", "--clip", str(tiny_model_dir), "--data", str(tmp_path), "--out", str(photo)],
        f"--out {photo}: exists and is not a folder",
    )
