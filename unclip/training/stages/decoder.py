"""The 64 px decoder: CLIP image embedding (+ caption) -> image, epsilon prediction with learned variance.

Classifier-free guidance dropout as in the paper: the image embedding is replaced by the decoder's
learned `null_image_embed` 10% of the time and the caption by the empty caption 50% of the time,
independently. With `model.inpainting` (GLIDE-style fine-tuning) the network also sees the image with
a random region zeroed and the keep mask; initialise it from a text-to-image decoder with `init_from`.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from unclip.cascade.settings import StageSampling
from unclip.cascade.stages import encode_prompts, run_decoder
from unclip.models.clip import TextEncoding
from unclip.models.decoder import Decoder, DecoderConfig
from unclip.models.inpainting import inpaint_input, random_training_mask
from unclip.training.augment import resize_center_crop
from unclip.training.examples import RecordData
from unclip.training.stages.base import NetWrapper, draw_diffusion, init_from, make_diffusion, save_grid
from unclip.training.stages.conditioned import ConditionedStage, TextImageMaker
from unclip.utils.config import ConfigError


class DecoderMaker(TextImageMaker):
    def __init__(  # type: ignore[no-untyped-def]
        self,
        config: DecoderConfig,
        image_dropout: float,
        caption_dropout: float,
        high_noise_share: float = 0.0,
        high_noise_from: int = 0,
        **kw,
    ):
        super().__init__(**kw)
        self.high_noise_share = high_noise_share
        self.high_noise_from = high_noise_from
        self.config = config
        self.image_dropout = image_dropout
        self.caption_dropout = caption_dropout
        self.placeholder_size = config.image_size

    def make(self, record: RecordData, g: torch.Generator) -> dict[str, torch.Tensor]:
        assert record.image is not None
        size = self.config.image_size
        out = self.conditioning(record)
        out["image"] = resize_center_crop(record.image, size)
        out.update(
            draw_diffusion(
                self.config.diffusion, (3, size, size), g, self.high_noise_share, self.high_noise_from
            )
        )
        out["drop_image"] = torch.rand((), generator=g) < self.image_dropout
        out["drop_caption"] = torch.rand((), generator=g) < self.caption_dropout
        if self.config.inpainting:
            out["inpaint"] = inpaint_input(out["image"], ~random_training_mask(size, size, g))
        return out


class DecoderTrainModule(NetWrapper):
    def forward(
        self,
        x_t: torch.Tensor,
        t: torch.Tensor,
        image_embeds: torch.Tensor,
        drop_image: torch.Tensor,
        embeds: torch.Tensor,
        hidden: torch.Tensor,
        mask: torch.Tensor,
        inpaint: torch.Tensor | None = None,
    ) -> torch.Tensor:
        net: Decoder = self.net  # type: ignore[assignment]
        null = net.null_image_embeds(image_embeds.shape[0]).to(image_embeds.dtype)
        image_embeds = torch.where(drop_image[:, None], null, image_embeds)
        return net(x_t, t, image_embeds, TextEncoding(embeds, hidden, mask), inpaint)


class DecoderStage(ConditionedStage):
    name = "decoder"
    metric_names = ("mse", "vb")
    fsdp_blocks = ("ResBlock",)  # not SpatialAttention: UNet.context_kv calls it outside its forward

    @property
    def component(self) -> str:
        return "decoder_inpaint" if self.stage_cfg.model.inpainting else "decoder"

    def check_dims(self, embed_dim: int, text_width: int, max_tokens: int) -> None:
        m: DecoderConfig = self.stage_cfg.model
        wrong = [
            f"decoder.model.{name} = {have}, CLIP has {want}"
            for name, have, want in (
                ("clip_dim", m.clip_dim, embed_dim),
                ("text_width", m.text_width, text_width),
            )
            if have != want
        ]
        if wrong:
            raise ConfigError("the decoder does not fit its CLIP: " + "; ".join(wrong))

    def default_min_image_size(self) -> int:
        return self.stage_cfg.model.image_size // 2

    def setup(self, source, barrier) -> None:  # type: ignore[no-untyped-def]
        super().setup(source, barrier)
        self.diffusion = make_diffusion(
            self.stage_cfg.model.diffusion, self.stage_cfg.min_snr_gamma, self.stage_cfg.v_weight_cap
        )
        self.init_notes: list[str] = []

    def build(self) -> NetWrapper:
        decoder = Decoder(self.stage_cfg.model)
        if self.stage_cfg.init_from:
            self.init_notes = init_from(decoder, self.stage_cfg.init_from, self.stage_cfg.init_component)
        return DecoderTrainModule(decoder)

    def maker(self) -> DecoderMaker:
        s = self.stage_cfg
        return DecoderMaker(
            s.model,
            s.image_embed_dropout,
            s.caption_dropout,
            s.high_noise_share,
            s.high_noise_from,
            **self.text_image_maker_args(),
        )

    def loss(self, module: nn.Module, batch: dict[str, Any]) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        text = self.frozen.drop_captions(self.frozen.text(batch), batch["drop_caption"])
        image_embeds = self.frozen.image_embeds(batch)

        def model_fn(x_t: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
            return module(
                x_t,
                t,
                image_embeds,
                batch["drop_image"],
                text.embeds,
                text.hidden,
                text.mask,
                batch.get("inpaint"),
            ).float()

        terms = self.diffusion.training_losses(model_fn, batch["image"], batch["t"], batch["noise"])
        zero = torch.zeros_like(terms["mse"])
        return terms["loss"], {"mse": terms["mse"], "vb": terms.get("vb", zero)}

    @torch.no_grad()
    def sample(self, net: nn.Module, step: int) -> dict[str, float]:
        """Grid: per fixed record, the real image, then the decoder's reconstruction from its CLIP image
        embedding and caption (with an inpainting decoder: the masked input, then the fill)."""
        records = self.sample_records(self.cfg.train.num_samples, self.min_image_size())
        if not records:
            return {}
        size = self.stage_cfg.model.image_size
        maker = self.maker()
        maker.precomputed = maker.hidden_precomputed = False
        clip_pixels = torch.stack(
            [maker.conditioning(RecordData(c, im, None))["clip_pixels"] for _, c, im in records]
        )
        embeds = self.frozen.image_embeds({"clip_pixels": clip_pixels.to(self.device)})
        text = encode_prompts(self.frozen.clip, self.tokenizer, [c for _, c, _ in records])
        real = torch.stack([resize_center_crop(im, size) for _, _, im in records])
        inpaint = None
        if self.stage_cfg.model.inpainting:
            region = torch.zeros(size, size, dtype=torch.bool)
            region[size // 4 : 3 * size // 4, size // 4 : 3 * size // 4] = True
            inpaint = inpaint_input(real, ~region).to(self.device)
        settings = StageSampling("ddpm", self.cfg.train.sample_steps, self.cfg.train.sample_guidance)
        g = torch.Generator(device=self.device).manual_seed(self.cfg.train.seed)
        decoder: Decoder = net  # type: ignore[assignment]
        out = (
            run_decoder(decoder, embeds, text, self.frozen.empty, settings, g, inpaint=inpaint)
            .clamp(-1, 1)
            .cpu()
        )
        shown = real if inpaint is None else inpaint[:, :3].cpu()
        save_grid([list(shown), list(out)], self.run.samples / f"step-{step:08d}.png")
        return {"sample_mse": float(((out - real) ** 2).mean())}
