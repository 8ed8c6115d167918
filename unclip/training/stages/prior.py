"""The diffusion prior: caption -> CLIP image embedding, trained on x0 in normalised embedding space.

The normalisation statistics (mean and std per dimension) are computed from the training image
embeddings before training and stored in the prior's `embed_mean` / `embed_std` buffers, so sampling
denormalises with the same numbers. 10% of captions are replaced by the empty caption (for
classifier-free guidance).
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from unclip.cascade.settings import StageSampling
from unclip.cascade.stages import encode_prompts, run_prior
from unclip.data.records import BadRecord
from unclip.models.clip import TextEncoding
from unclip.models.prior import Prior, PriorConfig
from unclip.training.examples import ExampleDataset, RecordData
from unclip.training.stages.base import NetWrapper, draw_diffusion, make_diffusion
from unclip.training.stages.conditioned import ConditionedStage, TextImageMaker
from unclip.utils.config import ConfigError


class PriorMaker(TextImageMaker):
    def __init__(self, config: PriorConfig, caption_dropout: float, needs_image: bool, **kw):  # type: ignore[no-untyped-def]
        super().__init__(**kw)
        self.config = config
        self.caption_dropout = caption_dropout
        self.needs_image = needs_image

    def make(self, record: RecordData, g: torch.Generator) -> dict[str, torch.Tensor]:
        out = self.conditioning(record)
        out.update(draw_diffusion(self.config.diffusion, (self.config.clip_dim,), g))
        out["drop_caption"] = torch.rand((), generator=g) < self.caption_dropout
        return out


class PriorTrainModule(NetWrapper):
    def forward(
        self,
        z_t: torch.Tensor,
        t: torch.Tensor,
        embeds: torch.Tensor,
        hidden: torch.Tensor,
        mask: torch.Tensor,
    ) -> torch.Tensor:
        return self.net(z_t, t, TextEncoding(embeds, hidden, mask))


class PriorStage(ConditionedStage):
    name = "prior"
    metric_names = ("mse",)
    fsdp_blocks = ("PriorBlock",)

    @property
    def component(self) -> str:
        return "prior"

    def check_dims(self, embed_dim: int, text_width: int, max_tokens: int) -> None:
        m: PriorConfig = self.stage_cfg.model
        wrong = [
            f"prior.model.{name} = {have}, CLIP has {want}"
            for name, have, want in (
                ("clip_dim", m.clip_dim, embed_dim),
                ("text_width", m.text_width, text_width),
                ("max_text_tokens", m.max_text_tokens, max_tokens),
            )
            if have != want
        ]
        if wrong:
            raise ConfigError("the prior does not fit its CLIP: " + "; ".join(wrong))

    def setup(self, source, barrier) -> None:  # type: ignore[no-untyped-def]
        super().setup(source, barrier)
        self.diffusion = make_diffusion(self.stage_cfg.model.diffusion)
        self.mean, self.std = self.embedding_stats()

    @torch.no_grad()
    def embedding_stats(self) -> tuple[torch.Tensor, torch.Tensor]:
        """Mean and std of the first `stats_samples` valid training image embeddings (the same on every
        process: each computes them from the same records)."""
        limit = self.stage_cfg.stats_samples
        if self.store is not None:
            embeds = self.store.rows(limit)
        else:
            assert self.source is not None
            maker = self.maker()
            dataset = ExampleDataset(self.source, maker, self.cfg.train.seed, self.min_image_size())
            rows: list[torch.Tensor] = []
            batch: list[torch.Tensor] = []
            for i in range(len(self.source)):
                try:
                    batch.append(maker.conditioning(dataset.record(i))["clip_pixels"])
                except BadRecord:
                    continue
                if len(batch) == 64 or sum(r.shape[0] for r in rows) + len(batch) >= limit:
                    rows.append(
                        self.frozen.image_embeds({"clip_pixels": torch.stack(batch).to(self.device)}).cpu()
                    )
                    batch = []
                if sum(r.shape[0] for r in rows) >= limit:
                    break
            if batch:
                rows.append(
                    self.frozen.image_embeds({"clip_pixels": torch.stack(batch).to(self.device)}).cpu()
                )
            embeds = torch.cat(rows)[:limit]
        mean = embeds.mean(0)
        std = embeds.std(0) if embeds.shape[0] > 1 else torch.ones_like(mean)
        return mean, std.clamp(min=1e-4)

    def default_min_image_size(self) -> int:
        return min(32, self.frozen.clip.config.image_size)

    def build(self) -> NetWrapper:
        prior = Prior(self.stage_cfg.model)
        prior.embed_mean.copy_(self.mean)
        prior.embed_std.copy_(self.std)
        self.net = prior
        return PriorTrainModule(prior)

    def maker(self) -> PriorMaker:
        return PriorMaker(
            self.stage_cfg.model,
            self.stage_cfg.caption_dropout,
            needs_image=self.store is None,
            **self.text_image_maker_args(),
        )

    def loss(self, module: nn.Module, batch: dict[str, Any]) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        text = self.frozen.drop_captions(self.frozen.text(batch), batch["drop_caption"])
        z0 = self.net.normalize(self.frozen.image_embeds(batch))

        def model_fn(z_t: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
            return module(z_t, t, text.embeds, text.hidden, text.mask).float()

        terms = self.diffusion.training_losses(model_fn, z0, batch["t"], batch["noise"])
        return terms["loss"], {"mse": terms["mse"]}

    @torch.no_grad()
    def sample(self, net: nn.Module, step: int) -> dict[str, float]:
        """Sample embeddings for the fixed records' captions; report cosine similarity to the text and to
        the records' true image embeddings (no images: the prior has no pixels to show)."""
        records = self.sample_records(self.cfg.train.num_samples, self.min_image_size())
        if not records:
            return {}
        captions = [c for _, c, _ in records]
        text = encode_prompts(self.frozen.clip, self.tokenizer, captions)
        maker = self.maker()
        maker.precomputed = False
        pixels = torch.stack(
            [maker.conditioning(RecordData(c, im, None))["clip_pixels"] for _, c, im in records]
        )
        true = self.frozen.image_embeds({"clip_pixels": pixels.to(self.device)})
        settings = StageSampling("ddpm", self.cfg.train.sample_steps, self.cfg.train.sample_guidance)
        g = torch.Generator(device=self.device).manual_seed(self.cfg.train.seed)
        pred = run_prior(net, text, self.frozen.empty, settings, g)  # type: ignore[arg-type]
        return {
            "sample_cos_text": float(F.cosine_similarity(pred, text.embeds.float(), dim=-1).mean()),
            "sample_cos_image": float(F.cosine_similarity(pred, true, dim=-1).mean()),
            "true_cos_text": float(F.cosine_similarity(true, text.embeds.float(), dim=-1).mean()),
        }
