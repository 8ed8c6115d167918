"""Precomputed CLIP embeddings of a dataset, in shards aligned with its record numbers.

```
EMB/
  embeddings.json            # dataset fingerprint, record count, shard size, CLIP identity, fields
  shard-00000.safetensors    # records [0, S): image_embeds [n, D], text_embeds [n, D], valid [n] (uint8)
  shard-00001.safetensors    # ... optionally text_hidden [n, L, W] and text_mask [n, L] (--hidden)
```

Shards are written atomically (temporary file + rename), so an interrupted `unclip embed` resumes by
skipping the shards that exist. Records whose image could not be read have `valid = 0`; training
skips them like any other bad record.
"""

from __future__ import annotations

import os
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from unclip.data.records import BadRecord, DataError
from unclip.utils.config import Config

INFO = "embeddings.json"


@dataclass
class EmbeddingInfo(Config):
    dataset: str  # fingerprint of the record list (ImageTextSource.fingerprint)
    records: int
    shard_size: int
    clip: str  # sha256 of the CLIP weights used
    embed_dim: int
    fields: list[str] = field(default_factory=list)
    source: str = ""

    @property
    def num_shards(self) -> int:
        return (self.records + self.shard_size - 1) // self.shard_size


def shard_name(n: int) -> str:
    return f"shard-{n:05d}.safetensors"


def write_info(directory: Path, info: EmbeddingInfo) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    tmp = directory / f".{INFO}.{os.getpid()}"
    tmp.write_text(info.to_json() + "\n")
    os.replace(tmp, directory / INFO)


def read_info(directory: Path) -> EmbeddingInfo:
    path = directory / INFO
    if not path.is_file():
        raise DataError(f"{path}: missing (not a folder written by `unclip embed`?)")
    return EmbeddingInfo.load(path)


def write_shard(directory: Path, n: int, tensors: dict[str, torch.Tensor]) -> None:
    path = directory / shard_name(n)
    tmp = directory / f".{path.name}.{os.getpid()}"
    save_file({k: v.contiguous().cpu() for k, v in tensors.items()}, str(tmp))
    os.replace(tmp, path)


def shard_complete(directory: Path, n: int, rows: int) -> bool:
    path = directory / shard_name(n)
    if not path.is_file():
        return False
    try:
        return load_file(str(path))["valid"].shape[0] == rows
    except (SafetensorError, OSError, KeyError):
        return False


class EmbeddingStore:
    """Read rows of a finished embedding folder; a few shards are kept in memory per process."""

    def __init__(self, directory: str | Path, dataset_fingerprint: str | None = None, cache_shards: int = 4):
        self.directory = Path(directory)
        self.info = read_info(self.directory)
        if dataset_fingerprint is not None and self.info.dataset != dataset_fingerprint:
            raise DataError(
                f"{self.directory}: these embeddings were computed for a different record list "
                f"({self.info.source or 'another dataset'}); run `unclip embed` again for this dataset"
            )
        missing = [n for n in range(self.info.num_shards) if not (self.directory / shard_name(n)).is_file()]
        if missing:
            raise DataError(
                f"{self.directory}: {len(missing)} of {self.info.num_shards} shards missing "
                f"(e.g. {shard_name(missing[0])}); finish them with `unclip embed` (it resumes)"
            )
        self.cache_shards = cache_shards
        self._cache: OrderedDict[int, dict[str, torch.Tensor]] = OrderedDict()

    @property
    def has_hidden(self) -> bool:
        return "text_hidden" in self.info.fields

    def _shard(self, n: int) -> dict[str, torch.Tensor]:
        shard = self._cache.get(n)
        if shard is None:
            try:
                shard = load_file(str(self.directory / shard_name(n)))
            except (SafetensorError, OSError) as e:
                raise DataError(f"{self.directory / shard_name(n)}: unreadable ({e})") from e
            self._cache[n] = shard
            while len(self._cache) > self.cache_shards:
                self._cache.popitem(last=False)
        else:
            self._cache.move_to_end(n)
        return shard

    def row(self, i: int) -> dict[str, torch.Tensor]:
        """Float32 tensors of record i (without `valid`); :class:`BadRecord` if it was not embedded."""
        shard = self._shard(i // self.info.shard_size)
        j = i % self.info.shard_size
        if not bool(shard["valid"][j]):
            raise BadRecord("unreadable image", f"record {i} (marked invalid by unclip embed)")
        return {
            k: (v[j].float() if v.is_floating_point() else v[j]) for k, v in shard.items() if k != "valid"
        }

    def rows(self, limit: int | None = None) -> torch.Tensor:
        """All valid image embeddings (up to `limit`), float32 [N, D]: for the prior's statistics."""
        out, total = [], 0
        for n in range(self.info.num_shards):
            shard = load_file(str(self.directory / shard_name(n)))
            rows = shard["image_embeds"][shard["valid"].bool()].float()
            out.append(rows)
            total += rows.shape[0]
            if limit is not None and total >= limit:
                break
        embeds = torch.cat(out)
        return embeds[:limit] if limit is not None else embeds
