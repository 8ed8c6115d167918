"""webdataset tar shards, as img2dataset writes them: members `<key>.jpg|png|webp` + `<key>.txt|json`.

Shards are named by a local path or any fsspec URL, a brace range (`s3://b/{00000..00099}.tar`), a
glob (`data/*.tar`), a folder of `.tar` files, or a text file listing one shard per line. Each shard is
scanned once for the byte offset of every member (a sequential read; the captions are read on the
way) and the offsets are cached, so training can then read any sample with one ranged read. A shard
that is truncated or corrupt is indexed up to the break: the members before it are kept and the
broken ones counted as skipped.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import os
import re
import tarfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import fsspec

from unclip.data.records import IMAGE_EXTENSIONS, BadRecord, DataError, SkipCounter, clean_caption
from unclip.data.source import ImageTextSource, is_url

_BRACE = re.compile(r"\{(\d+)\.\.(\d+)\}")


def expand_braces(pattern: str) -> list[str]:
    """`a{00..02}b` -> [a00b, a01b, a02b] (zero padding kept; several ranges multiply)."""
    parts = _BRACE.split(pattern)
    literals, ranges = parts[0::3], list(zip(parts[1::3], parts[2::3]))
    choices = [[str(i).zfill(len(lo)) for i in range(int(lo), int(hi) + 1)] for lo, hi in ranges]
    out = []
    for combo in itertools.product(*choices):
        out.append("".join(lit + (combo[i] if i < len(combo) else "") for i, lit in enumerate(literals)))
    return out


def list_shards(spec: str) -> list[str]:
    """Resolve a shard specification to a sorted list of shard paths/URLs."""
    if _BRACE.search(spec):
        return expand_braces(spec)
    if any(c in spec for c in "*?["):
        fs, _, paths = fsspec.get_fs_token_paths(spec)
        found = sorted(paths)
        return [fs.unstrip_protocol(p) if is_url(spec) else p for p in found]
    if not is_url(spec) and Path(spec).is_dir():
        return sorted(str(p) for p in Path(spec).glob("*.tar"))
    if spec.endswith((".txt", ".shards")) and not is_url(spec) and Path(spec).is_file():
        return [
            ln.strip() for ln in Path(spec).read_text().splitlines() if ln.strip() and not ln.startswith("#")
        ]
    return [spec]


def _split_name(name: str) -> tuple[str, str]:
    """webdataset's rule: the key is everything before the first dot of the file name."""
    directory, _, base = name.rpartition("/")
    stem, dot, ext = base.partition(".")
    return (f"{directory}/{stem}" if directory else stem), ext.lower() if dot else ""


def _caption_from_json(data: bytes) -> str:
    try:
        obj = json.loads(data)
    except (json.JSONDecodeError, UnicodeDecodeError):
        return ""
    if isinstance(obj, dict):
        for name in ("caption", "text", "prompt", "title"):
            if isinstance(obj.get(name), str):
                return obj[name]
    return ""


@dataclass
class ShardIndex:
    """Per shard: keys, captions, image (offset, size) and the skips found while scanning."""

    keys: list[str]
    captions: list[str]
    offsets: list[tuple[int, int]]
    skipped: dict[str, int]
    examples: dict[str, str]

    def to_json(self) -> str:
        return json.dumps(self.__dict__)


def scan_shard(url: str) -> ShardIndex:
    """Read a shard once, front to back, recording where each sample's image lies."""
    groups: dict[str, dict[str, Any]] = {}  # ext -> bytes (txt, json) or (offset, size) (image)
    order: list[str] = []
    skipped = SkipCounter()
    try:
        with fsspec.open(url, "rb") as raw, tarfile.open(fileobj=raw, mode="r|") as tar:
            try:
                for member in tar:
                    if not member.isfile():
                        continue
                    key, ext = _split_name(member.name)
                    if not ext:
                        continue
                    group = groups.get(key)
                    if group is None:
                        group = groups[key] = {}
                        order.append(key)
                    if ext in IMAGE_EXTENSIONS:
                        group["image"] = (member.offset_data, member.size)
                    elif ext in ("txt", "json"):
                        f = tar.extractfile(member)
                        data = f.read() if f is not None else b""
                        if len(data) < member.size:
                            raise tarfile.ReadError("unexpected end of data")
                        group[ext] = data
            except (tarfile.TarError, EOFError, OSError, ValueError) as e:
                skipped.add("broken shard member", f"{url} ({e})")
                # The member being read when the tar broke is unusable; its group is dropped below.
                if order:
                    groups.pop(order.pop(), None)
    except FileNotFoundError as e:
        raise DataError(f"{url}: shard not found") from e
    except (tarfile.TarError, OSError) as e:
        raise DataError(f"{url}: not a readable tar file ({e})") from e
    keys, captions, offsets = [], [], []
    for key in order:
        group = groups[key]
        if "image" not in group:
            skipped.add("no image member", f"{url}:{key}")
            continue
        if "txt" in group:
            caption = clean_caption(group["txt"].decode("utf-8", "replace"))  # type: ignore[union-attr]
        else:
            caption = clean_caption(_caption_from_json(group.get("json", b"")))  # type: ignore[arg-type]
        if not caption:
            skipped.add("empty caption", f"{url}:{key}")
            continue
        keys.append(key)
        captions.append(caption)
        offsets.append(group["image"])  # type: ignore[arg-type]
    return ShardIndex(keys, captions, offsets, dict(skipped.counts), dict(skipped.examples))


def _cache_key(url: str) -> str:
    """Shard identity for the offset cache: URL plus size and modification time / ETag."""
    try:
        fs, _, (path,) = fsspec.get_fs_token_paths(url)
        info = fs.info(path)
    except FileNotFoundError as e:
        raise DataError(f"{url}: shard not found") from e
    stamp = [url, info.get("size"), info.get("mtime") or info.get("LastModified") or info.get("ETag") or ""]
    return hashlib.sha1(json.dumps(stamp, default=str).encode()).hexdigest()


def default_index_cache() -> Path:
    return Path(os.environ.get("UNCLIP_CACHE", Path.home() / ".cache" / "unclip")) / "shard-index"


def index_shard(url: str, cache_dir: Path | None) -> ShardIndex:
    path = cache_dir / f"{_cache_key(url)}.json" if cache_dir is not None else None
    if path is not None and path.is_file():
        try:
            return ShardIndex(**json.loads(path.read_text()))
        except (json.JSONDecodeError, TypeError):
            pass  # a damaged cache entry is rebuilt
    index = scan_shard(url)
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".tmp{os.getpid()}")
        tmp.write_text(index.to_json())
        os.replace(tmp, path)
    return index


class TarShardSource(ImageTextSource):
    kind = "shards"

    def __init__(self, spec: str, cache_dir: Path | None = None):
        shards = list_shards(spec)
        if not shards:
            raise DataError(f"{spec}: no tar shards found")
        keys: list[str] = []
        captions: list[str] = []
        self.shards = shards
        self.refs: list[tuple[int, int, int]] = []  # (shard number, offset, size)
        skipped = SkipCounter()
        for n, url in enumerate(shards):
            index = index_shard(url, cache_dir)
            keys.extend(f"{n:05d}/{k}" for k in index.keys)
            captions.extend(index.captions)
            self.refs.extend((n, off, size) for off, size in index.offsets)
            for reason, count in index.skipped.items():
                skipped.counts[reason] += count
                skipped.examples.setdefault(reason, index.examples.get(reason, ""))
        super().__init__(spec, keys, captions, skipped)
        self._fds: dict[int, int] = {}
        self._pid = os.getpid()

    def _local_fd(self, shard: int) -> int:
        # One descriptor per shard and process; os.pread keeps no shared file offset, so forked
        # DataLoader workers never race on seeks.
        if self._pid != os.getpid():
            self._fds, self._pid = {}, os.getpid()
        fd = self._fds.get(shard)
        if fd is None:
            fd = self._fds[shard] = os.open(self.shards[shard].removeprefix("file://"), os.O_RDONLY)
        return fd

    def read_image_bytes(self, i: int) -> bytes:
        shard, offset, size = self.refs[i]
        url = self.shards[shard]
        try:
            if is_url(url):
                with fsspec.open(url, "rb", block_size=max(size, 1 << 16)) as f:
                    f.seek(offset)
                    data = f.read(size)
            else:
                data = os.pread(self._local_fd(shard), size, offset)
        except OSError as e:
            raise BadRecord("unreadable shard member", f"{url}:{self.keys[i]} ({e})") from e
        if len(data) != size:
            raise BadRecord("broken shard member", f"{url}:{self.keys[i]} (truncated)")
        return data

    def attribution(self) -> str | None:
        first = self.shards[0]
        if is_url(first):
            return None
        path = Path(first).parent / "ATTRIBUTION.md"
        return path.read_text(encoding="utf-8") if path.is_file() else None

    def __getstate__(self) -> dict:
        state = dict(self.__dict__)
        state["_fds"] = {}
        return state

    def __del__(self) -> None:
        if getattr(self, "_pid", None) == os.getpid():
            for fd in getattr(self, "_fds", {}).values():
                try:
                    os.close(fd)
                except OSError:
                    pass
