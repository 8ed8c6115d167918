"""--install with stand-in npm / apt-get / dpkg-deb scripts (no network), and the CLI wiring."""

from __future__ import annotations

import argparse
import json
import os
import stat
from pathlib import Path

import pytest

from unclip.cli import data as data_cli
from unclip.data.sources import SourceCache, SourceInstallError, build_emoji
from unclip.data.sources.base import Package
from unclip.errors import UnclipError

from .conftest import make_emoji_cache

FAKE_NPM = """#!/bin/sh
# npm install --prefix DIR --no-audit --no-fund PKG...: copy PKG from $FAKE_REGISTRY/npm/node_modules
echo "$@" >> "$FAKE_LOG"
prefix="$3"; shift 5
mkdir -p "$prefix/node_modules"
for p in "$@"; do
  mkdir -p "$(dirname "$prefix/node_modules/$p")"
  cp -r "$FAKE_REGISTRY/npm/node_modules/$p" "$prefix/node_modules/$p" || exit 1
done
"""
FAKE_APT = """#!/bin/sh
# apt-get download PKG: leave PKG_1.0_all.deb (a text file here) in the working folder
echo "apt-get $@" >> "$FAKE_LOG"
[ "$2" = "no-such-package" ] && { echo "E: Unable to locate package $2" >&2; exit 100; }
echo "$2" > "$2_1.0-1_all.deb"
"""
FAKE_DPKG_DEB = """#!/bin/sh
# dpkg-deb -f DEB Version | dpkg-deb -x DEB DIR
echo "dpkg-deb $@" >> "$FAKE_LOG"
if [ "$1" = "-f" ]; then echo "1.0-1"; exit 0; fi
mkdir -p "$3/usr/share/fake" && cp "$2" "$3/usr/share/fake/"
"""


@pytest.fixture
def fake_tools(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for name, text in (("npm", FAKE_NPM), ("apt-get", FAKE_APT), ("dpkg-deb", FAKE_DPKG_DEB)):
        path = bin_dir / name
        path.write_text(text)
        path.chmod(path.stat().st_mode | stat.S_IXUSR)
    registry = make_emoji_cache(tmp_path / "registry", styles=("google", "twitter"))
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("FAKE_REGISTRY", str(registry))
    monkeypatch.setenv("FAKE_LOG", str(tmp_path / "calls.log"))
    return tmp_path / "calls.log"


def test_install_fetches_missing_npm_packages(fake_tools: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    report = build_emoji(
        tmp_path / "ds", styles="google,twitter", cache=SourceCache(cache), install=True, log=lambda _m: None
    )
    assert report.images["twitter"] == 6
    calls = fake_tools.read_text()
    assert (
        f"install --prefix {cache / 'npm'} --no-audit --no-fund emoji-datasource-google emoji-datasource-twitter"
        in calls
    )
    # a second run finds them and installs nothing
    build_emoji(
        tmp_path / "ds2", styles="google", cache=SourceCache(cache), install=True, log=lambda _m: None
    )
    assert fake_tools.read_text() == calls


def test_install_fetches_and_unpacks_debian_packages(fake_tools: Path, tmp_path: Path) -> None:
    cache = SourceCache(tmp_path / "cache")
    pkg = Package("apt", "fonts-fake")
    cache.ensure([pkg], install=True, log=lambda _m: None)
    assert cache.has(pkg) and cache.version(pkg) == "1.0-1"
    assert (cache.apt_root / "usr/share/fake/fonts-fake_1.0-1_all.deb").is_file()
    with pytest.raises(SourceInstallError, match="Unable to locate package") as err:
        cache.ensure([Package("apt", "no-such-package")], install=True, log=lambda _m: None)
    assert "apt-get update" in str(err.value)


def test_downloaded_deb_is_unpacked_without_install(fake_tools: Path, tmp_path: Path) -> None:
    cache = SourceCache(tmp_path / "cache")
    cache.apt_debs.mkdir(parents=True)
    (cache.apt_debs / "fonts-fake_1.0-1_all.deb").write_text("by hand")
    cache.ensure([Package("apt", "fonts-fake")], install=False)
    assert cache.version(Package("apt", "fonts-fake")) == "1.0-1"


def test_install_without_npm_says_so(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path / "nothing"))
    with pytest.raises(SourceInstallError, match="npm is not on PATH"):
        SourceCache(tmp_path / "c").ensure([Package("npm", "x")], install=True, log=lambda _m: None)


def _cli(argv: list[str]) -> int:
    """What `unclip` does with a subcommand: parse, run, print UnclipErrors without a traceback."""
    parser = argparse.ArgumentParser(prog="unclip")
    data_cli.register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except UnclipError as e:
        print(f"unclip: error: {e}")
        return 2


def test_cli_emoji(emoji_cache: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "ds"
    rc = _cli(
        [
            "data",
            "emoji",
            str(out),
            "--cache",
            str(emoji_cache),
            "--styles",
            "google,fluent",
            "--size",
            "48",
            "--workers",
            "1",
        ]
    )
    text = capsys.readouterr().out
    assert rc == 0
    assert "google" in text and "fluent" in text and "held out" in text and "skipped 1" in text
    summary = json.loads((out / "summary.json").read_text())
    assert summary["size"] == 48 and summary["images"] == {"google": 6, "fluent": 6}


def test_cli_missing_package_is_a_message(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cache = tmp_path / "empty"
    rc = _cli(["data", "emoji", str(tmp_path / "ds"), "--cache", str(cache), "--styles", "twitter"])
    text = capsys.readouterr().out
    assert rc == 2
    assert "emoji-datasource-twitter" in text and f"--install --cache {cache}" in text


def test_cli_bad_style(emoji_cache: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rc = _cli(["data", "emoji", str(tmp_path / "ds"), "--cache", str(emoji_cache), "--styles", "apple"])
    assert rc == 2 and "unknown emoji style(s) apple" in capsys.readouterr().out


def test_registered_in_main() -> None:
    from unclip.cli.main import COMMANDS

    assert "data" in COMMANDS
