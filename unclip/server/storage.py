"""PNG files behind `url` results: unguessable names, atomic writes, a time to live, bounded size.

Layout under the data directory: `images/<token>.png` (served) and `tmp/` (writes in progress, renamed
into `images/` only once complete, so a half-written file is never served). The index of live files is
in memory; on start, files left by an earlier run are adopted (if still within their TTL) or removed.
"""

from __future__ import annotations

import os
import re
import secrets
import tempfile
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from unclip.errors import UnclipError

NAME_RE = re.compile(r"^[A-Za-z0-9_-]{32}\.png$")


@dataclass
class StoredFile:
    created: float
    size: int


class ImageStore:
    def __init__(
        self,
        root: Path,
        ttl_s: float,
        max_bytes: int,
        max_files: int,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.root = Path(root)
        self.images = self.root / "images"
        self.tmp = self.root / "tmp"
        self.ttl_s = ttl_s
        self.max_bytes = max_bytes
        self.max_files = max_files
        self.clock = clock
        self._lock = threading.Lock()
        self._index: OrderedDict[str, StoredFile] = OrderedDict()  # oldest first
        self._bytes = 0
        self.evicted = 0
        self._make_dirs()
        self._adopt_existing()

    # ------------------------------------------------------------------ public
    def put(self, png: bytes) -> str:
        """Store one PNG; returns its file name (`<token>.png`). Evicts the oldest files to stay in bounds."""
        name = secrets.token_urlsafe(24) + ".png"
        fd, tmp_name = tempfile.mkstemp(dir=self.tmp, suffix=".part")
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(png)
            with self._lock:
                self._make_room(len(png))
                os.replace(tmp_name, self.images / name)
                self._index[name] = StoredFile(self.clock(), len(png))
                self._bytes += len(png)
        except BaseException:
            _unlink(Path(tmp_name))
            raise
        return name

    def path_for(self, name: str) -> Path | None:
        """The file of a live (known, unexpired) name, else None."""
        if not NAME_RE.match(name):
            return None
        with self._lock:
            entry = self._index.get(name)
            if entry is None:
                return None
            if self.clock() >= entry.created + self.ttl_s:
                self._remove(name)
                return None
        return self.images / name

    def expires_in(self, name: str) -> float:
        with self._lock:
            entry = self._index.get(name)
            return 0.0 if entry is None else max(0.0, entry.created + self.ttl_s - self.clock())

    def sweep(self) -> int:
        """Remove expired files; returns how many."""
        now = self.clock()
        removed = 0
        with self._lock:
            for name, entry in list(self._index.items()):
                if now < entry.created + self.ttl_s:
                    break  # the index is in creation order
                self._remove(name)
                removed += 1
        return removed

    def stats(self) -> tuple[int, int]:
        with self._lock:
            return len(self._index), self._bytes

    # ------------------------------------------------------------------ internals
    def _make_dirs(self) -> None:
        """images/ and tmp/ under the data directory, or an error naming data_dir and why."""
        if self.root.exists() and not self.root.is_dir():
            raise UnclipError(f"data_dir {self.root}: exists and is not a folder")
        try:
            self.images.mkdir(parents=True, exist_ok=True)
            self.tmp.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise UnclipError(f"data_dir {self.root}: cannot create {e.filename or self.root} ({e.strerror or e})") from None
        if not os.access(self.images, os.W_OK | os.X_OK) or not os.access(self.tmp, os.W_OK | os.X_OK):
            raise UnclipError(f"data_dir {self.root}: not writable (url results are stored there)")

    def _make_room(self, incoming: int) -> None:
        while self._index and (
            len(self._index) + 1 > self.max_files or self._bytes + incoming > self.max_bytes
        ):
            oldest = next(iter(self._index))
            self._remove(oldest)
            self.evicted += 1

    def _remove(self, name: str) -> None:
        entry = self._index.pop(name, None)
        if entry is not None:
            self._bytes -= entry.size
        _unlink(self.images / name)

    def _adopt_existing(self) -> None:
        for leftover in self.tmp.iterdir():
            _unlink(leftover)
        now = self.clock()
        found = []
        for path in self.images.iterdir():
            try:
                st = path.stat()
            except OSError:
                continue
            if not NAME_RE.match(path.name) or now >= st.st_mtime + self.ttl_s:
                _unlink(path)
            else:
                found.append((st.st_mtime, path.name, st.st_size))
        with self._lock:
            for mtime, name, size in sorted(found):
                self._make_room(size)
                self._index[name] = StoredFile(mtime, size)
                self._bytes += size


def _unlink(path: Path) -> None:
    try:
        path.unlink()
    except FileNotFoundError:
        pass
    except IsADirectoryError:
        pass
