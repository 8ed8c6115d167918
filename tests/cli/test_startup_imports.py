"""`unclip --help` and argument errors answer without importing torch or transformers (seconds of
imports): subcommand modules import heavy code inside their `run`, not at the top.
`benchmarks/startup.py` measures the whole start-up."""

from __future__ import annotations

import subprocess
import sys

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
