"""One process per local `data_dir`: an exclusive lock on `<data_dir>/.lock`, held while the server runs.

Two servers on one data folder delete and adopt each other's files (each keeps its own index), so the
second one is refused at start with a message that says what to do instead. Processes that share
state use Redis (`redis_url`), which keeps the images and limits; they do not lock a folder.
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path
from typing import IO

from unclip.errors import UnclipError


class DataDirLock:
    def __init__(self, root: Path) -> None:
        self.path = Path(root) / ".lock"
        self._file: IO[str] | None = None

    def acquire(self) -> DataDirLock:
        """Take the lock or raise UnclipError naming the folder and the process holding it."""
        root = self.path.parent
        if root.exists() and not root.is_dir():
            raise UnclipError(f"data_dir {root}: exists and is not a folder")
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            f = open(self.path, "a+")  # noqa: SIM115 - held open while the server runs
        except OSError as e:
            raise UnclipError(
                f"data_dir {self.path.parent}: cannot create its lock file ({e.strerror or e})"
            ) from None
        try:
            fcntl.flock(f.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            f.seek(0)
            holder = f.read().strip() or "another process"
            f.close()
            raise UnclipError(
                f"data_dir {self.path.parent} is in use by another unclip server (pid {holder}): give each "
                "process its own --data-dir, or run several replicas with shared state in Redis (--redis URL)"
            ) from None
        f.seek(0)
        f.truncate()
        f.write(str(os.getpid()))
        f.flush()
        self._file = f
        return self

    def release(self) -> None:
        if self._file is not None:
            try:
                fcntl.flock(self._file.fileno(), fcntl.LOCK_UN)
            finally:
                self._file.close()
                self._file = None
