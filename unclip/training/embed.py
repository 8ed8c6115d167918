"""`unclip embed`: precompute CLIP image and text embeddings of a dataset into shards.

DALL-E 2 trains the prior and decoder on precomputed CLIP embeddings; with them the prior never
decodes an image and the decoder skips the CLIP image tower. Shards are independent, so the work
splits over processes (`accelerate launch ... unclip embed`) and an interrupted run resumes by
skipping finished shards.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import torch

from unclip.data.config import DataConfig, open_source
from unclip.data.embeddings import EmbeddingInfo, read_info, shard_complete, write_info, write_shard
from unclip.data.records import BadRecord, DataError, decode_image
from unclip.data.source import ImageTextSource
from unclip.models.tokenizer import tokenize
from unclip.training.augment import resize_center_crop
from unclip.training.examples import worker_init
from unclip.training.runs import load_clip, weights_fingerprint
from unclip.utils.checks import require_counts


class _Records(torch.utils.data.Dataset):
    def __init__(
        self,
        source: ImageTextSource,
        start: int,
        end: int,
        tokenizer,
        max_tokens: int,
        size: int,
        min_size: int,
    ):  # type: ignore[no-untyped-def]
        self.source, self.start, self.end = source, start, end
        self.tokenizer, self.max_tokens, self.size, self.min_size = tokenizer, max_tokens, size, min_size

    def __len__(self) -> int:
        return self.end - self.start

    def __getitem__(self, j: int) -> dict[str, torch.Tensor]:
        i = self.start + j
        tokens = tokenize(self.tokenizer, [self.source.captions[i]], self.max_tokens)
        try:
            image = decode_image(self.source.read_image_bytes(i), self.min_size, self.source.keys[i])
            pixels, valid = resize_center_crop(image, self.size), True
        except BadRecord:
            pixels, valid = torch.zeros(3, self.size, self.size), False
        return {"pixels": pixels, "ids": tokens.ids[0], "mask": tokens.mask[0], "valid": torch.tensor(valid)}


def embed_dataset(
    clip_path: str | Path,
    data: DataConfig,
    out: str | Path,
    batch_size: int = 64,
    shard_size: int = 4096,
    hidden: bool = False,
    log: Callable[[str], None] = print,
) -> EmbeddingInfo:
    from accelerate import PartialState

    from unclip.training.trainer import cpu_distributed

    require_counts(batch_size=batch_size, shard_size=shard_size)  # before anything is read or written
    state = PartialState(cpu=cpu_distributed())
    out = Path(out)
    with state.main_process_first():
        source = open_source(data)
    clip, tokenizer = load_clip(clip_path)
    clip = clip.to(state.device).eval().requires_grad_(False)
    fields = ["image_embeds", "text_embeds"] + (["text_hidden", "text_mask"] if hidden else [])
    info = EmbeddingInfo(
        dataset=source.fingerprint(),
        records=len(source),
        shard_size=shard_size,
        clip=weights_fingerprint(clip.state_dict()),
        embed_dim=clip.config.embed_dim,
        fields=fields,
        source=data.source,
    )
    if (out / "embeddings.json").is_file():
        old = read_info(out)
        if (old.dataset, old.clip, old.shard_size, old.fields) != (
            info.dataset,
            info.clip,
            info.shard_size,
            info.fields,
        ):
            raise DataError(
                f"{out} holds embeddings of another dataset, CLIP, shard size or field set; "
                "choose another --out or delete it"
            )
    if state.is_main_process:
        write_info(out, info)
        log(f"data: {source.describe()}")
    state.wait_for_everyone()
    size = clip.config.image_size
    done = skipped = bad = 0
    for n in range(state.process_index, info.num_shards, state.num_processes):
        start, end = n * shard_size, min((n + 1) * shard_size, len(source))
        if shard_complete(out, n, end - start):
            skipped += 1
            continue
        records = _Records(
            source, start, end, tokenizer, clip.config.text_max_tokens, size, data.min_image_size or 1
        )
        loader = torch.utils.data.DataLoader(
            records,
            batch_size=batch_size,
            num_workers=data.num_workers,
            worker_init_fn=worker_init if data.num_workers else None,
        )
        parts: dict[str, list[torch.Tensor]] = {k: [] for k in [*fields, "valid"]}
        with torch.no_grad():
            for batch in loader:
                ids, mask = batch["ids"].to(state.device), batch["mask"].to(state.device)
                text = clip.encode_text(ids, mask)
                image = clip.encode_image(clip.preprocess(batch["pixels"].to(state.device)))
                parts["image_embeds"].append(image.half().cpu())
                parts["text_embeds"].append(text.embeds.half().cpu())
                if hidden:
                    parts["text_hidden"].append(text.hidden.half().cpu())
                    parts["text_mask"].append(text.mask.to(torch.uint8).cpu())
                parts["valid"].append(batch["valid"].to(torch.uint8))
        tensors = {k: torch.cat(v) for k, v in parts.items()}
        bad += int((tensors["valid"] == 0).sum())
        write_shard(out, n, tensors)
        done += 1
        log(f"embed: shard {n + 1}/{info.num_shards} written ({end - start} records)")
    log(f"embed: {done} shard(s) written, {skipped} already done, {bad} unreadable record(s) marked invalid")
    state.wait_for_everyone()
    return info
