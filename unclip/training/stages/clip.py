"""CLIP: symmetric contrastive (InfoNCE) loss over the whole global micro-batch, learned temperature.

Features of every process are all-gathered with gradients (torch.distributed.nn), so the negatives
are all samples of the micro-step across processes, and a run on W processes computes the same loss
as one process with W times the batch. The BPE tokenizer is trained on the dataset's captions first.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import torch
import torch.distributed as dist
import torch.nn.functional as F
from torch import nn

from unclip.models.clip import ClipConfig, ClipModel
from unclip.models.tokenizer import ClipTokenizer, load_tokenizer, save_tokenizer, tokenize, train_tokenizer
from unclip.training.augment import resize_center_crop
from unclip.training.examples import ExampleMaker, RecordData
from unclip.training.stages.base import NetWrapper, Stage
from unclip.utils.config import ConfigError

LOGIT_SCALE_MAX = 100.0


class ClipMaker(ExampleMaker):
    def __init__(self, tokenizer: ClipTokenizer, image_size: int, max_tokens: int) -> None:
        self.tokenizer = tokenizer
        self.image_size = image_size
        self.max_tokens = max_tokens
        self.placeholder_size = image_size

    def make(self, record: RecordData, g: torch.Generator) -> dict[str, torch.Tensor]:
        assert record.image is not None
        tokens = tokenize(self.tokenizer, [record.caption], self.max_tokens)
        return {
            "pixels": resize_center_crop(record.image, self.image_size),
            "ids": tokens.ids[0],
            "mask": tokens.mask[0],
        }


class ClipTrainModule(NetWrapper):
    def forward(
        self, pixels: torch.Tensor, ids: torch.Tensor, mask: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        clip: ClipModel = self.net  # type: ignore[assignment]
        image = F.normalize(clip.encode_image(clip.preprocess(pixels)).float(), dim=-1)
        text = F.normalize(clip.encode_text(ids, mask).embeds.float(), dim=-1)
        return image, text, clip.model.logit_scale


def _gather(x: torch.Tensor) -> tuple[torch.Tensor, int]:
    """All processes' rows (differentiable) and the offset of this process's rows."""
    if not (dist.is_available() and dist.is_initialized()) or dist.get_world_size() == 1:
        return x, 0
    import torch.distributed.nn.functional as dnn

    parts = dnn.all_gather(x)
    return torch.cat(parts), dist.get_rank() * x.shape[0]


def contrastive_loss(
    image: torch.Tensor, text: torch.Tensor, valid: torch.Tensor, logit_scale: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-sample (local rows) symmetric InfoNCE [b] and image->text top-1 accuracy [b]."""
    all_image, offset = _gather(image)
    all_text, _ = _gather(text)
    all_valid, _ = _gather(valid.float())
    scale = logit_scale.float().exp().clamp(max=LOGIT_SCALE_MAX)
    b = image.shape[0]
    labels = torch.arange(offset, offset + b, device=image.device)
    invalid = all_valid[None, :] < 0.5
    logits_i2t = (scale * image @ all_text.T).masked_fill(invalid, float("-inf"))
    logits_t2i = (scale * text @ all_image.T).masked_fill(invalid, float("-inf"))
    # A bad row's own column is masked too; its loss is zeroed by the trainer, keep it finite here.
    safe = valid.bool()
    logits_i2t = torch.where(safe[:, None], logits_i2t, torch.zeros_like(logits_i2t))
    logits_t2i = torch.where(safe[:, None], logits_t2i, torch.zeros_like(logits_t2i))
    loss = 0.5 * (
        F.cross_entropy(logits_i2t, labels, reduction="none")
        + F.cross_entropy(logits_t2i, labels, reduction="none")
    )
    accuracy = (logits_i2t.argmax(dim=1) == labels).float()
    return loss, accuracy


class ClipStage(Stage):
    name = "clip"
    metric_names = ("accuracy",)
    fsdp_blocks = ("ClipLayer",)

    @property
    def component(self) -> str:
        return "clip"

    @property
    def model_config(self) -> ClipConfig:
        return self._model_config

    def default_min_image_size(self) -> int:
        return min(32, self.stage_cfg.model.image_size)

    def setup(self, source, barrier) -> None:  # type: ignore[no-untyped-def]
        super().setup(source, barrier)
        cfg = self.stage_cfg
        if not cfg.model.image_tower:
            raise ConfigError(
                "clip.model.image_tower must be true: contrastive training needs the image tower"
            )
        run_tok = self.run.tokenizer
        if self.is_main and not (run_tok / "vocab.json").is_file():
            if cfg.tokenizer:
                tokenizer = load_tokenizer(cfg.tokenizer)
            else:
                tokenizer = train_tokenizer(source.captions, cfg.vocab_size, cfg.tokenizer_min_frequency)
            save_tokenizer(tokenizer, run_tok)
        barrier()
        model = cfg.model
        self.tokenizer = load_tokenizer(run_tok, max_length=model.text_max_tokens)
        tok = self.tokenizer
        self._model_config = dataclasses.replace(
            model,
            vocab_size=len(tok),
            bos_token_id=tok.bos_token_id,
            eos_token_id=tok.eos_token_id,
            pad_token_id=tok.pad_token_id,
        )

    def build(self) -> NetWrapper:
        return ClipTrainModule(ClipModel(self.model_config))

    def maker(self) -> ClipMaker:
        cfg = self.model_config
        return ClipMaker(self.tokenizer, cfg.image_size, cfg.text_max_tokens)

    def loss(self, module: nn.Module, batch: dict[str, Any]) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        image, text, logit_scale = module(batch["pixels"], batch["ids"], batch["mask"])
        loss, accuracy = contrastive_loss(image, text, batch["valid"], logit_scale)
        return loss, {"accuracy": accuracy}

    @torch.no_grad()
    def sample(self, net: nn.Module, step: int) -> dict[str, float]:
        """Retrieval on the fixed sample records: image->caption top-1 among them."""
        records = self.sample_records(self.cfg.train.num_samples, 1)
        if len(records) < 2:
            return {}
        clip: ClipModel = net  # type: ignore[assignment]
        pixels = torch.stack(
            [resize_center_crop(im, self.model_config.image_size) for _, _, im in records]
        ).to(self.device)
        tokens = tokenize(self.tokenizer, [c for _, c, _ in records], self.model_config.text_max_tokens)
        image = F.normalize(clip.encode_image(clip.preprocess(pixels)).float(), dim=-1)
        text = F.normalize(
            clip.encode_text(tokens.ids.to(self.device), tokens.mask.to(self.device)).embeds.float(), dim=-1
        )
        sims = image @ text.T
        top1 = (sims.argmax(dim=1) == torch.arange(len(records), device=sims.device)).float().mean()
        return {"sample_top1": float(top1), "logit_scale": float(clip.model.logit_scale.exp())}
