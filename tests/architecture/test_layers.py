"""The layers of docs/ARCHITECTURE.md, enforced: every import in `unclip` (function-level and
TYPE_CHECKING ones included) goes downward through the table below, and no modules import each other
round a loop. The checker itself is shown to catch a forbidden import and a cycle in a small package
written for the purpose."""

from __future__ import annotations

from pathlib import Path

import unclip

from .import_graph import cycles, imports, layer_violations

BASE = {"errors", "version"}  # importable from anywhere
UTILS = BASE | {"utils"}
# part of unclip -> the parts it may import (its own modules always). Keep docs/ARCHITECTURE.md in step.
ALLOWED: dict[str, set[str]] = {
    "errors": set(),
    "version": set(),
    "utils": BASE,
    "diffusion": UTILS,
    "models": UTILS,
    "data": UTILS,
    "safety": UTILS,
    "provenance": UTILS,
    "cascade": UTILS | {"models", "diffusion"},
    "pipeline": UTILS | {"cascade", "models", "diffusion", "safety", "provenance"},
    "training": UTILS | {"cascade", "models", "diffusion", "data"},
    "convert": UTILS | {"cascade", "models", "diffusion"},
    "evaluation": UTILS | {"pipeline", "cascade", "models", "diffusion", "data", "safety"},
    "server": UTILS | {"pipeline", "cascade", "safety", "provenance"},
    "cli": UTILS
    | {
        "pipeline",
        "cascade",
        "models",
        "diffusion",
        "data",
        "safety",
        "provenance",
        "training",
        "convert",
        "evaluation",
        "server",
    },
}
PACKAGE = Path(unclip.__file__).parent


def test_every_import_in_unclip_goes_down_the_layers():
    assert layer_violations(PACKAGE, ALLOWED) == []


def test_no_modules_of_unclip_import_each_other_round_a_loop():
    assert cycles(PACKAGE) == []


def test_the_public_face_loads_only_the_pipeline_and_the_version():
    """`unclip/__init__.py` (`from unclip import UnCLIP`) stands above every layer; nothing imports it."""
    assert {i.target for i in imports(PACKAGE) if i.source == "unclip"} <= {
        "__future__",
        "typing",
        "unclip.version",
        "unclip.pipeline.unclip_pipeline",
    }
    assert [str(i) for i in imports(PACKAGE) if i.target == "unclip"] == []


def test_every_part_of_unclip_has_a_rule():
    parts = {p.stem for p in PACKAGE.glob("*.py") if p.stem != "__init__"}
    parts |= {p.name for p in PACKAGE.iterdir() if (p / "__init__.py").is_file()}
    assert parts == set(ALLOWED)


def _package(root: Path, files: dict[str, str]) -> Path:
    pkg = root / "toy"
    for name, text in files.items():
        path = pkg / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return pkg


RULES = {"low": set(), "high": {"low"}}


def test_the_checker_accepts_downward_imports(tmp_path):
    pkg = _package(
        tmp_path,
        {
            "__init__.py": "",
            "low/__init__.py": "",
            "low/a.py": "import os\n",
            "high/__init__.py": "",
            "high/b.py": "from toy.low import a\nfrom ..low.a import os\n",
        },
    )
    assert layer_violations(pkg, RULES) == []
    assert cycles(pkg) == []


def test_the_checker_reports_a_forbidden_import_even_inside_a_function(tmp_path):
    pkg = _package(
        tmp_path,
        {
            "__init__.py": "",
            "low/__init__.py": "",
            "low/a.py": "def f():\n    from toy.high.b import g\n    return g\n",
            "high/__init__.py": "",
            "high/b.py": "def g():\n    return 1\n",
        },
    )
    assert layer_violations(pkg, RULES) == ["toy.low.a:2 imports toy.high.b: 'low' may not import 'high'"]


def test_the_checker_reports_a_relative_import_upward_and_a_part_with_no_rule(tmp_path):
    pkg = _package(
        tmp_path,
        {
            "__init__.py": "",
            "low/__init__.py": "from ..high import b\n",
            "high/__init__.py": "",
            "high/b.py": "from toy import extra\n",
            "extra.py": "",
        },
    )
    assert layer_violations(pkg, RULES) == [
        "toy.high.b:1 imports toy.extra: 'high' may not import 'extra'",
        "toy.low:1 imports toy.high.b: 'low' may not import 'high'",
    ]
    pkg2 = _package(
        tmp_path / "two",
        {"__init__.py": "", "new/__init__.py": "from toy.low import x\n", "low/__init__.py": ""},
    )
    assert layer_violations(pkg2, RULES) == [
        "toy.new:1 imports toy.low: no rule for 'new' in the layer table"
    ]


def test_the_checker_reports_a_cycle_hidden_in_function_level_and_type_checking_imports(tmp_path):
    pkg = _package(
        tmp_path,
        {
            "__init__.py": "",
            "high/__init__.py": "",
            "high/facade.py": "def edit():\n    from toy.high.editing import run\n    return run()\n",
            "high/editing.py": (
                "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from toy.high.facade import X\n"
            ),
            "high/alone.py": "import toy.high.facade\n",
        },
    )
    assert layer_violations(pkg, RULES) == []
    assert cycles(pkg) == [["toy.high.editing", "toy.high.facade"]]
    assert any(i.target == "toy.high.facade" for i in imports(pkg) if i.source == "toy.high.alone")
