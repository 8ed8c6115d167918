"""The editor's files as the server ships them (no browser needed): the page at /, its modules under
/static, package-data coverage, and module imports that resolve."""

from __future__ import annotations

import re
import tomllib
from fnmatch import fnmatch
from pathlib import Path

import httpx
import pytest
from server.live import FakeEngine, LiveServer

from unclip.server.app import EDITOR_DIR
from unclip.server.settings import ServerSettings

ROOT = Path(__file__).resolve().parents[2]
EXPORT = r"^export\s+(?:async\s+)?(?:function|class|const|let)\s+([\w$]+)"
IMPORT = r'^import\s+(?:\{([^}]*)\}|\*\s+as\s+\w+)\s+from\s+"\./([\w.]+)";'


@pytest.fixture(scope="module")
def fake_server(tmp_path_factory):
    settings = ServerSettings(data_dir=str(tmp_path_factory.mktemp("data")), unsafe_disable_safety=True)
    server = LiveServer(settings, FakeEngine(), None).start()
    yield server
    server.stop()


def test_page_and_modules_are_served(fake_server):
    page = httpx.get(fake_server.url + "/")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert page.headers["cache-control"] == "no-cache"
    assert '<script type="module" src="static/js/main.js">' in page.text
    for path in ["static/editor.css", "static/js/main.js", "static/js/outpaint.js"]:
        r = httpx.get(f"{fake_server.url}/{path}")
        assert r.status_code == 200 and r.headers["cache-control"] == "no-cache", path
    assert "javascript" in httpx.get(fake_server.url + "/static/js/api.js").headers["content-type"]
    assert "text/css" in httpx.get(fake_server.url + "/static/editor.css").headers["content-type"]
    missing = httpx.get(fake_server.url + "/static/nope.js")
    assert missing.status_code == 404 and set(missing.json()["error"]) == {"message", "type", "param", "code"}
    assert httpx.head(fake_server.url + "/").status_code == 200
    # the editor is no API endpoint
    assert "/" not in httpx.get(fake_server.url + "/openapi.json").json()["paths"]


def test_every_editor_file_is_package_data():
    patterns = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]["*"]
    files = [p for p in EDITOR_DIR.rglob("*") if p.is_file()]
    assert files
    for path in files:
        assert any(fnmatch(path.name, pattern) for pattern in patterns), f"{path} would not be installed"


def test_module_imports_resolve_and_exports_exist():
    """Every `import {a, b} from "./x.js"` names a file that exists and exports a and b (no build step
    checks this for us)."""
    js = EDITOR_DIR / "js"
    exports = {}
    for path in js.glob("*.js"):
        text = path.read_text()
        names = set(re.findall(EXPORT, text, re.MULTILINE))
        for group in re.findall(r"^export\s*\{([^}]*)\}", text, re.MULTILINE):
            names |= {n.strip() for n in group.split(",") if n.strip()}
        exports[path.name] = names
    for path in js.glob("*.js"):
        for names, target in re.findall(IMPORT, path.read_text(), re.MULTILINE):
            assert target in exports, f"{path.name} imports missing ./{target}"
            for name in (n.strip() for n in names.replace("\n", " ").split(",")):
                if name:
                    assert name in exports[target], f"{path.name} imports {name}, not exported by ./{target}"
