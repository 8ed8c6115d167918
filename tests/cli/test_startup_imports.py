"""`unclip --help` and argument errors answer without importing torch or transformers (seconds of
imports): subcommand modules import heavy code inside their `run`, not at the top. Generating, editing,
varying and serving never import transformers (unclip has its own CLIP and tokenizer).
`benchmarks/startup.py` measures the whole start-up."""

from __future__ import annotations

import os
import socket
import subprocess
import sys

import pytest

HEAVY = ("torch", "transformers", "numpy.linalg", "sklearn", "cv2")


def test_building_the_parser_imports_no_heavy_package():
    code = (
        "import sys\nimport unclip.cli.main as m\nm.build_parser()\n"
        f"print(sorted(name for name in {HEAVY!r} if name in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    assert out.stdout.strip() == "[]", out.stdout


def test_help_exits_0_and_lists_every_command():
    from unclip.cli.main import COMMANDS

    out = subprocess.run(
        [sys.executable, "-m", "unclip.cli.main", "--help"],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    for name in COMMANDS:
        assert ("eval" if name == "evaluate" else name) in out.stdout


def test_the_cli_stage_list_is_the_trainers():
    from unclip.cli.train import STAGES
    from unclip.training.config import STAGES as TRAINING_STAGES

    assert STAGES == TRAINING_STAGES


def test_the_program_exits_fast_with_the_code_streams_and_atexit_handlers(tmp_path):
    """`entry()` skips the interpreter's teardown; the exit code, what was printed and the atexit
    handlers (logging, temporary files) must survive that."""
    marker = tmp_path / "atexit-ran"
    code = (
        "import atexit, pathlib, sys\n"
        f"atexit.register(pathlib.Path({str(marker)!r}).write_text, 'yes')\n"
        "from unclip.cli.main import entry\n"
        "print('before', flush=False)\n"
        "sys.argv = ['unclip', 'generate', '   ']\n"
        "entry()\n"
        "print('not reached')\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], check=False, capture_output=True, text=True, timeout=120
    )
    assert out.returncode == 2
    assert out.stdout == "before\n"
    assert "prompt: empty" in out.stderr
    assert marker.read_text() == "yes"


# Run by the commands' tests below in a fresh interpreter: what of transformers and torch's dynamo
# (1 s, pulled in by random ops on the meta device) the process imported, after the command's work.
_SLOW = "sorted(m for m in sys.modules if m.split('.')[0] == 'transformers' or m == 'torch._dynamo')"
ONE_STEP = ["--prior-steps", "1", "--decoder-steps", "1", "--upsampler-256-steps", "1"]


def _image_with_a_hole(path) -> str:
    from PIL import Image

    image = Image.new("RGBA", (64, 64), (200, 30, 30, 255))
    image.paste((0, 0, 0, 0), (16, 16, 48, 48))  # the transparent square is the area to edit
    image.save(path)
    return str(path)


@pytest.mark.parametrize("command", ["generate", "edit", "vary"])
def test_the_image_commands_never_import_transformers(command, tmp_path):
    """A whole `unclip generate` / `edit` / `vary` (the CLI, the default model, the content policy, the
    PNG) imports neither transformers (2.6 s) nor torch's dynamo."""
    image = _image_with_a_hole(tmp_path / "in.png")
    args = {
        "generate": ["generate", "a red apple", *ONE_STEP],
        "edit": ["edit", image, "a red apple", *ONE_STEP],
        "vary": ["vary", image, "-n", "1", *ONE_STEP[2:]],
    }[command]
    out_dir = tmp_path / "out"
    argv = ["unclip", *args, "--size", "256", "--seed", "0", "-o", str(out_dir)]
    code = (
        f"import sys\nsys.argv = {argv!r}\n"
        "from unclip.cli.main import main\ncode = main()\n"
        f"print({_SLOW})\nsys.exit(code)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], check=False, capture_output=True, text=True, timeout=300
    )
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip().splitlines()[-1] == "[]", out.stdout
    assert list(out_dir.glob("*.png"))


def test_serve_never_imports_transformers(tmp_path):
    """`unclip serve` with the default model, once it has answered a generation request."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    # nudenet is an optional extra: without it the shipped policy's nudity check must be waived
    argv = ["unclip", "serve", "--port", str(port), "--steps-preset", "fastest", "--waive-check", "nudity"]
    # the server runs in the main thread; a second thread asks it for an image, then reports and exits
    code = (
        "import os, sys, threading, time\nimport httpx\n"
        f"sys.argv = {argv!r}\nurl = 'http://127.0.0.1:{port}'\n"
        "def client():\n"
        "    for _ in range(1200):\n"
        "        try:\n"
        "            if httpx.get(url + '/health', timeout=1).status_code == 200:\n"
        "                break\n"
        "        except httpx.TransportError:\n"
        "            pass\n"
        "        time.sleep(0.1)\n"
        "    r = httpx.post(url + '/v1/images/generations', timeout=240,\n"
        "                   json={'prompt': 'a red apple', 'size': '256x256', 'response_format': 'b64_json'})\n"
        f"    print(r.status_code, {_SLOW}, flush=True)\n"
        "    os._exit(0)\n"
        "threading.Thread(target=client, daemon=True).start()\n"
        "from unclip.cli.main import main\nprint('serve returned', main())\n"
    )
    env = {**os.environ, "UNCLIP_DATA_DIR": str(tmp_path / "data"), "UNCLIP_THREADS": "2"}
    out = subprocess.run(
        [sys.executable, "-c", code], check=False, capture_output=True, text=True, timeout=300, env=env
    )
    assert out.returncode == 0 and out.stdout.strip(), out.stdout + out.stderr[-2000:]
    assert out.stdout.strip().splitlines()[-1] == "200 []", out.stdout + out.stderr[-2000:]
