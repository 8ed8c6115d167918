"""Shared by the prior and decoder stages: the frozen CLIP, its tokenizer and precomputed embeddings."""

from __future__ import annotations

import torch

from unclip.data.embeddings import EmbeddingStore
from unclip.models.tokenizer import tokenize
from unclip.training.augment import resize_center_crop
from unclip.training.conditioning import FrozenClip
from unclip.training.examples import ExampleMaker, RecordData
from unclip.training.runs import load_clip, weights_fingerprint
from unclip.training.stages.base import Stage
from unclip.utils.config import ConfigError


class TextImageMaker(ExampleMaker):
    """Caption tokens, plus CLIP's input image unless the embeddings are precomputed."""

    def __init__(
        self, tokenizer, max_tokens: int, clip_size: int, precomputed: bool, hidden_precomputed: bool
    ):  # type: ignore[no-untyped-def]
        self.tokenizer = tokenizer
        self.max_tokens = max_tokens
        self.clip_size = clip_size
        self.precomputed = precomputed
        self.hidden_precomputed = hidden_precomputed

    def conditioning(self, record: RecordData) -> dict[str, torch.Tensor]:
        out: dict[str, torch.Tensor] = {}
        if not self.hidden_precomputed:
            tokens = tokenize(self.tokenizer, [record.caption], self.max_tokens)
            out["ids"], out["mask"] = tokens.ids[0], tokens.mask[0]
        if self.precomputed:
            assert record.embeds is not None
            out["image_embeds"] = record.embeds["image_embeds"]
            if self.hidden_precomputed:
                out["text_embeds"] = record.embeds["text_embeds"]
                out["text_hidden"] = record.embeds["text_hidden"]
                out["text_mask"] = record.embeds["text_mask"].bool()
        else:
            assert record.image is not None
            out["clip_pixels"] = resize_center_crop(record.image, self.clip_size)
        return out


class ConditionedStage(Stage):
    def setup(self, source, barrier) -> None:  # type: ignore[no-untyped-def]
        super().setup(source, barrier)
        clip, self.tokenizer = load_clip(self.stage_cfg.clip)
        self.clip_fingerprint = weights_fingerprint(clip.state_dict())
        c = clip.config
        self.check_dims(c.embed_dim, c.text_width, c.text_max_tokens)
        self.frozen = FrozenClip(clip, self.tokenizer, self.device)
        if self.cfg.data.embeddings:
            self.store = EmbeddingStore(self.cfg.data.embeddings, source.fingerprint())
            if self.store.info.clip != self.clip_fingerprint:
                raise ConfigError(
                    f"data.embeddings {self.cfg.data.embeddings} were computed with another CLIP than "
                    f"{self.stage_cfg.clip}; run `unclip embed` with this CLIP"
                )

    def check_dims(self, embed_dim: int, text_width: int, max_tokens: int) -> None:
        raise NotImplementedError

    def run_info(self) -> dict:
        return {**super().run_info(), "clip": str(self.stage_cfg.clip), "clip_sha256": self.clip_fingerprint}

    def text_image_maker_args(self) -> dict:
        precomputed = self.store is not None
        return {
            "tokenizer": self.tokenizer,
            "max_tokens": self.frozen.max_tokens,
            "clip_size": self.frozen.clip.config.image_size,
            "precomputed": precomputed,
            "hidden_precomputed": precomputed and self.store.has_hidden,  # type: ignore[union-attr]
        }
