import subprocess
import sys

from PIL import Image

FAST = ["--prior-steps", "2", "--decoder-steps", "2", "--upsampler-256-steps", "1", "--prior-candidates", "1"]


def run_cli(*args, check=True):
    proc = subprocess.run(
        [sys.executable, "-m", "unclip.cli.main", *args],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    if check:
        assert proc.returncode == 0, proc.stderr
    return proc


def test_generate_writes_pngs_of_the_requested_size(tiny_model_dir, tmp_path):
    out = tmp_path / "out"
    proc = run_cli(
        "generate",
        "a red apple",
        "a blue car",
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
        "--threads",
        "2",
        *FAST,
    )
    paths = proc.stdout.split()
    assert len(paths) == 4
    for p in paths:
        with Image.open(p) as im:
            assert im.format == "PNG" and im.size == (256, 256)
    assert "decoder" in proc.stderr  # a progress bar per stage


def test_same_seed_reproduces_files(tiny_model_dir, tmp_path):
    args = ["generate", "a cat", "--size", "64", "--seed", "3", "--model", str(tiny_model_dir), *FAST]
    a = run_cli(*args, "-o", str(tmp_path / "a")).stdout.split()[0]
    b = run_cli(*args, "-o", str(tmp_path / "b")).stdout.split()[0]
    assert Image.open(a).tobytes() == Image.open(b).tobytes()


def test_help_documents_every_option():
    text = run_cli("generate", "--help").stdout
    for flag in (
        "-n",
        "--size",
        "--seed",
        "--out",
        "--model",
        "--device",
        "--dtype",
        "--decoder-steps",
        "--prior-guidance",
        "--upsampler-1024-sampler",
    ):
        assert flag in text
    assert "generate" in run_cli("--help").stdout


def test_bad_model_dir_is_a_clear_error_not_a_traceback(tmp_path):
    proc = run_cli("generate", "x", "--model", str(tmp_path), check=False)
    assert proc.returncode == 2
    assert "model_index.json: missing" in proc.stderr
    assert "Traceback" not in proc.stderr
