"""A folder of images with same-named `.txt` captions (`cat.png` + `cat.txt`), searched recursively."""

from __future__ import annotations

import os
from pathlib import Path

from unclip.data.records import IMAGE_EXTENSIONS, DataError, SkipCounter, clean_caption
from unclip.data.source import FileListSource


def index_folder(root: str | Path) -> FileListSource:
    root = Path(root)
    if not root.is_dir():
        raise DataError(f"{root}: dataset folder not found")
    keys, captions, paths = [], [], []
    skipped = SkipCounter()
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        names = set(filenames)
        for name in sorted(filenames):
            stem, _, ext = name.rpartition(".")
            if not stem or ext.lower() not in IMAGE_EXTENSIONS or name.startswith("."):
                continue
            path = Path(dirpath) / name
            rel = str(path.relative_to(root))
            if f"{stem}.txt" not in names:
                skipped.add("no caption file", rel)
                continue
            try:
                caption = clean_caption(
                    (Path(dirpath) / f"{stem}.txt").read_text(encoding="utf-8", errors="replace")
                )
            except OSError:
                skipped.add("unreadable caption file", rel)
                continue
            if not caption:
                skipped.add("empty caption", rel)
                continue
            keys.append(rel.rsplit(".", 1)[0])
            captions.append(caption)
            paths.append(str(path))
    return FileListSource("folder", str(root), keys, captions, paths, skipped)
