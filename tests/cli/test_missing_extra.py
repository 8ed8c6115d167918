"""`unclip serve` on an install without the `server` extra: one line naming the extra, exit 2.

The process runs with the server packages made unimportable (`sys.modules[name] = None` makes `import
name` raise ImportError, as on a base install where they are absent)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

DRIVER = (
    "import sys\nfor name in {names!r}: sys.modules[name] = None\n"
    "from unclip.cli.main import main\nsys.exit(main(['serve']))\n"
)


@pytest.mark.parametrize(
    "missing", [("fastapi",), ("uvicorn",), ("fastapi", "uvicorn", "python_multipart", "prometheus_client")]
)
def test_serve_without_the_server_extra_says_what_to_install(missing, tmp_path):
    proc = subprocess.run(
        [sys.executable, "-c", DRIVER.format(names=missing)],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
        cwd=tmp_path,
        env={**os.environ, "UNCLIP_DATA_DIR": str(tmp_path)},
    )
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert "pip install 'unclip[server]'" in lines[0] and repr(missing[0]) in lines[0], lines[0]
