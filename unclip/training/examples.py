"""Turning records into training examples, in DataLoader workers.

A stage's :class:`ExampleMaker` reads what it needs of a record (caption, decoded image, precomputed
embeddings) and makes every random draw for it (timestep, noise, dropout flags, crop, degradation,
mask) from the sample's own generator, seeded by the sample number. A bad record becomes a placeholder
example with `valid = False`: it keeps the batch shape fixed and contributes nothing to the loss.
"""

from __future__ import annotations

import signal
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import torch
from PIL import Image

from unclip.data.embeddings import EmbeddingStore
from unclip.data.records import BadRecord, decode_image
from unclip.data.sampler import sample_generator
from unclip.data.source import ImageTextSource


@dataclass
class RecordData:
    caption: str
    image: Image.Image | None
    embeds: dict[str, torch.Tensor] | None


class ExampleMaker:
    """Stage-specific: `make(record, generator) -> dict of tensors` (no batch dimension)."""

    needs_image: bool = True
    placeholder_size: int = 64  # side of the grey image that stands in for a bad record

    def make(self, record: RecordData, g: torch.Generator) -> dict[str, torch.Tensor]:
        raise NotImplementedError


class ExampleDataset(torch.utils.data.Dataset):
    """Map-style dataset indexed by (record number, sample number) pairs from the batch plan."""

    def __init__(
        self,
        source: ImageTextSource,
        maker: ExampleMaker,
        seed: int,
        min_image_size: int,
        store: EmbeddingStore | None = None,
    ):
        self.source = source
        self.maker = maker
        self.seed = seed
        self.min_image_size = min_image_size
        self.store = store
        self._blank_embeds: dict[str, torch.Tensor] | None = None

    def __len__(self) -> int:
        return len(self.source)

    def record(self, i: int) -> RecordData:
        embeds = self.store.row(i) if self.store is not None else None
        image = None
        if self.maker.needs_image:
            data = self.source.read_image_bytes(i)
            image = decode_image(data, self.min_image_size, self.source.keys[i])
        return RecordData(self.source.captions[i], image, embeds)

    def placeholder(self) -> RecordData:
        embeds = None
        if self.store is not None:
            if self._blank_embeds is None:
                info = self.store.info
                self._blank_embeds = (
                    {k: torch.zeros_like(v) for k, v in self._first_valid_row().items()}
                    if info.records
                    else {}
                )
            embeds = self._blank_embeds
        side = max(self.maker.placeholder_size, self.min_image_size)
        return RecordData("", Image.new("RGB", (side, side), (128, 128, 128)), embeds)

    def _first_valid_row(self) -> dict[str, torch.Tensor]:
        assert self.store is not None
        for i in range(len(self.source)):
            try:
                return self.store.row(i)
            except BadRecord:
                continue
        return {}

    def __getitem__(self, key: tuple[int, int]) -> dict[str, Any]:
        index, sample_number = key
        g = sample_generator(self.seed, sample_number)
        skip: tuple[str, int, str] | None = None
        try:
            example: dict[str, Any] = self.maker.make(self.record(index), g)
        except BadRecord as e:
            g = sample_generator(self.seed, sample_number)
            example = self.maker.make(self.placeholder(), g)
            skip = (e.reason, index, e.detail)
        example["valid"] = torch.tensor(skip is None)
        example["skip"] = skip
        return example


def collate(examples: Sequence[dict[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key in examples[0]:
        if key == "skip":
            out[key] = [e[key] for e in examples if e[key] is not None]
        else:
            out[key] = torch.stack([e[key] for e in examples])
    return out


def worker_init(_worker_id: int) -> None:
    """DataLoader workers leave SIGINT/SIGTERM to the trainer (which checkpoints before stopping) and
    use one thread each."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    torch.set_num_threads(1)


def to_device(batch: dict[str, Any], device: torch.device) -> dict[str, Any]:
    return {
        k: (v.to(device, non_blocking=True) if isinstance(v, torch.Tensor) else v) for k, v in batch.items()
    }
