"""A cached copy of the offensive-language classifier's arrays, so a process need not import sklearn.

Unpickling alt-profanity-check's model imports scikit-learn and scipy: over a second of every
`unclip generate`. The arrays the classifier uses (vocabulary, idf, SVM weights, calibration) and the
vectoriser's settings are written once to `$UNCLIP_CACHE/safety` (default ~/.cache/unclip) as an
`.npz` keyed on the installed package's files (path, size, mtime) and scikit-learn's version, and read
from there afterwards.
Only the vectoriser configuration the package ships is cached (word tokens, lowercase, a token regex,
a stop-word list, unigrams, no custom callables); for anything else the caller loads the package.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import importlib.util
import os
import re
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

FORMAT = 1


def cache_dir() -> Path:
    return Path(os.environ.get("UNCLIP_CACHE", Path.home() / ".cache" / "unclip")) / "safety"


def package_key() -> str | None:
    """A digest of alt-profanity-check's installed files (found without importing it); None if absent."""
    try:
        spec = importlib.util.find_spec("profanity_check")
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    try:  # the stop-word list and the unpickling come from scikit-learn: its version is part of the key
        sklearn_version = importlib.metadata.version("scikit-learn")
    except importlib.metadata.PackageNotFoundError:
        return None
    h = hashlib.sha256(f"format {FORMAT} scikit-learn {sklearn_version}".encode())
    for root in spec.submodule_search_locations:
        for path in sorted(Path(root).rglob("*")):
            if path.is_file() and "__pycache__" not in path.parts:
                st = path.stat()
                h.update(f"{path}\0{st.st_size}\0{st.st_mtime_ns}\n".encode())
    return h.hexdigest()[:32]


def cache_path(key: str) -> Path:
    return cache_dir() / f"profanity-check-{key}.npz"


def simple_analyzer_settings(vectorizer: Any) -> dict[str, Any] | None:
    """The vectoriser's settings when its analyzer is the plain one this module reproduces, else None."""
    p = vectorizer.get_params()
    plain = (
        p["analyzer"] == "word"
        and p["input"] == "content"
        and p["preprocessor"] is None
        and p["tokenizer"] is None
        and p["strip_accents"] is None
        and tuple(p["ngram_range"]) == (1, 1)
        and isinstance(p["token_pattern"], str)
    )
    if not plain:
        return None
    stop = vectorizer.get_stop_words()
    return {
        "lowercase": bool(p["lowercase"]),
        "token_pattern": p["token_pattern"],
        "stop_words": sorted(stop) if stop else [],
    }


def make_analyzer(lowercase: bool, token_pattern: str, stop_words: list[str]) -> Callable[[str], list[str]]:
    """sklearn's word analyzer for that configuration: lowercase, regex tokens, stop words dropped."""
    find = re.compile(token_pattern).findall
    stop = frozenset(stop_words)

    def analyze(text: str) -> list[str]:
        tokens = find(text.lower() if lowercase else text)
        return [t for t in tokens if t not in stop] if stop else tokens

    return analyze


def write(path: Path, arrays: dict[str, np.ndarray]) -> None:
    """Write through a temporary file and rename: a reader never sees half a cache."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".npz", dir=path.parent)
    os.close(fd)
    try:
        np.savez(tmp, **arrays)  # type: ignore[arg-type]  # numpy's stub types the arrays as positional
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def read(path: Path) -> dict[str, np.ndarray] | None:
    """The cached arrays, or None when there is no readable cache (it is then rebuilt)."""
    try:
        with np.load(path, allow_pickle=False) as data:
            return {k: data[k] for k in data.files}
    except (OSError, ValueError, KeyError, EOFError):
        return None
