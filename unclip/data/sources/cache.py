"""The source cache: npm packages under CACHE/npm, Debian packages unpacked under CACHE/apt/root.

`ensure()` checks that packages are there and, when asked, fetches the missing ones with the ordinary
clients (`npm install --prefix`, `apt-get download` + `dpkg-deb -x`). Nothing else is downloaded.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Callable, Iterable
from pathlib import Path

from unclip.data.sources.base import DataSourceError, Package, SourceInstallError, SourceMissingError

DEFAULT_CACHE = Path("~/.cache/unclip/sources")


def default_cache_dir() -> Path:
    env = os.environ.get("UNCLIP_SOURCES_CACHE")
    return Path(env).expanduser() if env else DEFAULT_CACHE.expanduser()


class SourceCache:
    def __init__(self, root: str | os.PathLike[str] | None = None) -> None:
        self.root = Path(root).expanduser() if root is not None else default_cache_dir()

    # --- npm ---------------------------------------------------------------------------------
    @property
    def npm_prefix(self) -> Path:
        return self.root / "npm"

    def npm_dir(self, name: str) -> Path:
        return self.npm_prefix / "node_modules" / name

    def npm_version(self, name: str) -> str:
        meta = self.npm_dir(name) / "package.json"
        try:
            return str(json.loads(meta.read_text(encoding="utf-8"))["version"])
        except (OSError, ValueError, KeyError) as e:
            raise DataSourceError(f"cannot read the version of npm package {name} from {meta}: {e}") from e

    # --- apt ---------------------------------------------------------------------------------
    @property
    def apt_root(self) -> Path:
        """Where Debian packages are unpacked (their files keep their /usr/... paths below it)."""
        return self.root / "apt" / "root"

    def _apt_stamp(self, name: str) -> Path:
        return self.root / "apt" / "installed" / f"{name}.json"

    def apt_version(self, name: str) -> str:
        stamp = self._apt_stamp(name)
        try:
            return str(json.loads(stamp.read_text(encoding="utf-8"))["version"])
        except (OSError, ValueError, KeyError) as e:
            raise DataSourceError(
                f"cannot read the version of Debian package {name} from {stamp}: {e}"
            ) from e

    # --- both --------------------------------------------------------------------------------
    @property
    def apt_debs(self) -> Path:
        return self.root / "apt" / "debs"

    def _deb_file(self, name: str) -> Path | None:
        found = sorted(self.apt_debs.glob(f"{name}_*.deb"))
        return found[-1] if found else None

    def has(self, pkg: Package) -> bool:
        """npm: installed; apt: unpacked, or at least downloaded (ensure() unpacks it, offline)."""
        if pkg.manager == "npm":
            return (self.npm_dir(pkg.name) / "package.json").is_file()
        return self._apt_stamp(pkg.name).is_file() or self._deb_file(pkg.name) is not None

    def version(self, pkg: Package) -> str:
        return self.npm_version(pkg.name) if pkg.manager == "npm" else self.apt_version(pkg.name)

    def install_command(self, pkg: Package) -> str:
        if pkg.manager == "npm":
            return f"npm install --prefix {self.npm_prefix} {pkg.name}"
        debs = self.apt_debs
        return f"mkdir -p {debs} && cd {debs} && apt-get download {pkg.name}"

    def ensure(
        self,
        packages: Iterable[Package],
        install: bool,
        hint: str = "run again with --install",
        log: Callable[[str], None] = print,
    ) -> None:
        """Raise SourceMissingError naming every missing package, or fetch them when `install` is true."""
        wanted = list(dict.fromkeys(packages))
        missing = [p for p in wanted if not self.has(p)]
        if not missing:
            for p in wanted:  # downloaded by hand but not unpacked yet
                if p.manager == "apt" and not self._apt_stamp(p.name).is_file():
                    self._unpack_deb(p.name)
            return
        if not install:
            lines = [f"  {p}: {self.install_command(p)}" for p in missing]
            raise SourceMissingError(
                f"missing source package(s) in the cache {self.root}: "
                + ", ".join(str(p) for p in missing)
                + f". To fetch them, {hint}; or by hand:\n"
                + "\n".join(lines)
            )
        npm = [p.name for p in missing if p.manager == "npm"]
        if npm:
            self._install_npm(npm, log)
        for p in missing:
            if p.manager == "apt":
                self._install_apt(p.name, log)

    def _install_npm(self, names: list[str], log: Callable[[str], None]) -> None:
        if shutil.which("npm") is None:
            raise SourceInstallError("npm is not on PATH: install Node.js and npm (e.g. apt-get install npm)")
        self.npm_prefix.mkdir(parents=True, exist_ok=True)
        log(f"fetching npm package(s) {', '.join(names)} into {self.npm_prefix}")
        _run(["npm", "install", "--prefix", str(self.npm_prefix), "--no-audit", "--no-fund", *names], None)

    def _install_apt(self, name: str, log: Callable[[str], None]) -> None:
        for tool in ("apt-get", "dpkg-deb"):
            if shutil.which(tool) is None:
                raise SourceInstallError(
                    f"{tool} is not on PATH: the {name} source needs a Debian-based system"
                )
        debs = self.apt_debs
        debs.mkdir(parents=True, exist_ok=True)
        log(f"fetching Debian package {name} into {debs}")
        for old in debs.glob(f"{name}_*.deb"):
            old.unlink()
        _run(
            ["apt-get", "download", name], debs, advice="if apt-get cannot find it, run apt-get update first"
        )
        self._unpack_deb(name)

    def _unpack_deb(self, name: str) -> None:
        deb = self._deb_file(name)
        if deb is None:
            raise SourceInstallError(f"no {name}_*.deb in {self.apt_debs} after apt-get download {name}")
        if shutil.which("dpkg-deb") is None:
            raise SourceInstallError(f"dpkg-deb is not on PATH: cannot unpack {deb}")
        version = _run(["dpkg-deb", "-f", str(deb), "Version"], None).strip()
        self.apt_root.mkdir(parents=True, exist_ok=True)
        _run(["dpkg-deb", "-x", str(deb), str(self.apt_root)], None)
        stamp = self._apt_stamp(name)
        stamp.parent.mkdir(parents=True, exist_ok=True)
        stamp.write_text(json.dumps({"package": name, "version": version, "deb": deb.name}) + "\n")


def _run(cmd: list[str], cwd: Path | None, advice: str = "") -> str:
    try:
        done = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, check=False)
    except OSError as e:
        raise SourceInstallError(f"could not run {' '.join(cmd)}: {e}") from e
    if done.returncode != 0:
        tail = "\n".join((done.stderr or done.stdout).strip().splitlines()[-8:])
        extra = f" ({advice})" if advice else ""
        raise SourceInstallError(f"`{' '.join(cmd)}` failed with exit code {done.returncode}{extra}:\n{tail}")
    return done.stdout
