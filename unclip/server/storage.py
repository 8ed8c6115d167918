"""PNG files behind `url` results: unguessable names, atomic writes, a time to live, bounded size.

Layout under the data directory: `images/<token>.png` (served) and `tmp/` (writes in progress, renamed
into `images/` only once complete, so a half-written file is never served). The index of live files is
in memory; on start, files left by an earlier run are adopted (if still within their TTL) or removed.
A URL handed out lives its TTL: the storage limits make room by removing expired files only, and a
request whose images do not fit is refused (`StorageFull`) rather than evicting other people's URLs.
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


class StorageFull(Exception):
    """The live (unexpired) files leave no room for a request's images."""

    def __init__(
        self, files: int, size: int, stored_files: int, stored_bytes: int, retry_after_s: float
    ) -> None:
        super().__init__(
            f"no room for {files} more files ({size} bytes): {stored_files} files, "
            f"{stored_bytes} bytes are live"
        )
        self.retry_after_s = retry_after_s


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
        """Store one PNG; returns its file name (`<token>.png`). See `put_many`."""
        return self.put_many([png])[0]

    def put_many(self, pngs: list[bytes]) -> list[str]:
        """Store PNGs, all or none; returns their file names (`<token>.png`). Only expired files are
        removed to make room: a URL handed out lives its whole TTL, so when the live files leave no
        room, `StorageFull` is raised and nothing is stored."""
        written: list[tuple[str, str, int]] = []  # (tmp path, name, size)
        try:
            for png in pngs:
                fd, tmp_name = tempfile.mkstemp(dir=self.tmp, suffix=".part")
                written.append((tmp_name, secrets.token_urlsafe(24) + ".png", len(png)))
                with os.fdopen(fd, "wb") as f:
                    f.write(png)
            with self._lock:
                self._make_room(len(pngs), sum(size for _, _, size in written))
                now = self.clock()
                for tmp_name, name, size in written:
                    os.replace(tmp_name, self.images / name)
                    self._index[name] = StoredFile(now, size)
                    self._bytes += size
        except BaseException:
            for tmp_name, _, _ in written:
                _unlink(Path(tmp_name))
            raise
        return [name for _, name, _ in written]

    def room_for(self, files: int) -> bool:
        """Whether `files` more files fit under `max_files` now (expired ones do not count)."""
        self.sweep()
        with self._lock:
            return len(self._index) + files <= self.max_files

    def full_error(self, files: int, size: int = 0) -> StorageFull:
        with self._lock:
            return self._full(files, size)

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

    def read(self, name: str) -> bytes | None:
        """The PNG bytes of a live name, else None."""
        path = self.path_for(name)
        if path is None:
            return None
        try:
            return path.read_bytes()
        except FileNotFoundError:
            return None

    def close(self) -> None:
        """Nothing to release: the files stay for the next start to adopt."""

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
            raise UnclipError(
                f"data_dir {self.root}: cannot create {e.filename or self.root} ({e.strerror or e})"
            ) from None
        if not os.access(self.images, os.W_OK | os.X_OK) or not os.access(self.tmp, os.W_OK | os.X_OK):
            raise UnclipError(f"data_dir {self.root}: not writable (url results are stored there)")

    def _make_room(self, files: int, size: int) -> None:
        """Remove expired files (oldest first) until `files` more files of `size` bytes in all fit;
        raise StorageFull if the live ones leave no room. Call with the lock held."""
        now = self.clock()
        while self._index and self._over(files, size):
            oldest, entry = next(iter(self._index.items()))
            if now < entry.created + self.ttl_s:
                break
            self._remove(oldest)
        if self._over(files, size):
            raise self._full(files, size)

    def _over(self, files: int, size: int) -> bool:
        return len(self._index) + files > self.max_files or self._bytes + size > self.max_bytes

    def _full(self, files: int, size: int) -> StorageFull:
        oldest = next(iter(self._index.values()), None)
        wait = 1.0 if oldest is None else max(1.0, oldest.created + self.ttl_s - self.clock())
        return StorageFull(files, size, len(self._index), self._bytes, wait)

    def _evict_oldest(self, size: int) -> None:
        """On start only (limits may have shrunk since the files were written): oldest files out first."""
        while self._index and self._over(1, size):
            self._remove(next(iter(self._index)))
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
                self._evict_oldest(size)
                self._index[name] = StoredFile(mtime, size)
                self._bytes += size


def _unlink(path: Path) -> None:
    try:
        path.unlink()
    except FileNotFoundError:
        pass
    except IsADirectoryError:
        pass
