"""Diffusion upsamplers: trained on random crops of 1/4 the target size (they are convolutional and run
at full size later), conditioned on a corrupted low-res version of the crop.

A crop of `crop` px is cut from the image resized to `high_res`; the low-res input is the crop shrunk by
high_res / low_res and degraded: a 3x3 Gaussian blur (sigma 0.6) for the first upsampler, a BSR-like
mix of blur, resize, noise and JPEG for the second (`degradation`). With `model.separate_last_step`
the timesteps below `last_step_timesteps` train the last-step network (Karlo's 64->256 stage).
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from unclip.cascade.settings import StageSampling
from unclip.cascade.stages import run_upsampler
from unclip.models.inpainting import inpaint_input, random_training_mask
from unclip.models.upsampler import Upsampler, UpsamplerConfig, upsample_low_res
from unclip.training.augment import degrade_blur, degrade_bsr, random_crop, resize, resize_center_crop
from unclip.training.examples import ExampleMaker, RecordData
from unclip.training.stages.base import NetWrapper, Stage, init_from, make_diffusion, save_grid


class UpsamplerMaker(ExampleMaker):
    def __init__(self, stage_cfg: Any):  # type: ignore[no-untyped-def]
        self.cfg = stage_cfg
        self.model: UpsamplerConfig = stage_cfg.model
        self.placeholder_size = self.model.high_res

    def low_res(self, hr: torch.Tensor, g: torch.Generator) -> torch.Tensor:
        low = self.cfg.low_crop
        kind = self.cfg.degradation_kind
        if kind == "blur":
            return degrade_blur(hr, low, self.cfg.blur_kernel, self.cfg.blur_sigma)
        if kind == "bsr":
            return degrade_bsr(hr, low, g)
        return resize(hr, low).clamp(-1, 1)

    def make(self, record: RecordData, g: torch.Generator) -> dict[str, torch.Tensor]:
        assert record.image is not None
        crop = self.cfg.crop
        full = resize_center_crop(record.image, self.model.high_res)
        hr = random_crop(full, crop, g)
        out = {"image": hr, "low_res": self.low_res(hr, g)}
        diffusion = self.model.diffusion
        n_last = self.cfg.last_step_timesteps
        if self.model.separate_last_step and torch.rand((), generator=g) < self.cfg.last_step_fraction:
            out["t"] = torch.randint(0, n_last, (), generator=g)
        else:
            out["t"] = torch.randint(0, diffusion.num_timesteps, (), generator=g)
        out["noise"] = torch.randn((3, crop, crop), generator=g)
        if self.model.inpainting:
            out["inpaint"] = inpaint_input(hr, ~random_training_mask(crop, crop, g))
        return out


class UpsamplerTrainModule(NetWrapper):
    def __init__(self, net: Upsampler, last_step_timesteps: int):
        super().__init__(net)
        self.last_step_timesteps = last_step_timesteps

    def forward(
        self, x_t: torch.Tensor, t: torch.Tensor, low_res: torch.Tensor, inpaint: torch.Tensor | None = None
    ) -> torch.Tensor:
        net: Upsampler = self.net  # type: ignore[assignment]
        cond = upsample_low_res(low_res, (x_t.shape[-2], x_t.shape[-1]))
        if net.unet_last is None:
            return net.denoise(x_t, t, cond, inpaint)
        last = t < self.last_step_timesteps
        out = torch.empty(
            (x_t.shape[0], net.config.unet.out_channels, *x_t.shape[-2:]), device=x_t.device, dtype=x_t.dtype
        )
        # Both networks run even on no rows, so every parameter gets a gradient (zero when unused) on every
        # process: FSDP reduce-scatters a unit's gradients together, and every process must bring the same ones.
        for use_last, rows in ((False, (~last).nonzero()[:, 0]), (True, last.nonzero()[:, 0])):
            sub = None if inpaint is None else inpaint[rows]
            out[rows] = net.denoise(x_t[rows], t[rows], cond[rows], sub, last_step=use_last).to(out.dtype)
        return out


class UpsamplerStage(Stage):
    name = "upsampler"
    metric_names = ("mse",)
    fsdp_blocks = ("ResBlock",)

    @property
    def component(self) -> str:
        m: UpsamplerConfig = self.stage_cfg.model
        return f"upsampler_{m.high_res}" + ("_inpaint" if m.inpainting else "")

    def default_min_image_size(self) -> int:
        return self.stage_cfg.model.high_res

    def setup(self, source, barrier) -> None:  # type: ignore[no-untyped-def]
        super().setup(source, barrier)
        self.diffusion = make_diffusion(self.stage_cfg.model.diffusion, self.stage_cfg.min_snr_gamma)
        self.init_notes: list[str] = []

    def build(self) -> NetWrapper:
        up = Upsampler(self.stage_cfg.model)
        if self.stage_cfg.init_from:
            self.init_notes = init_from(
                up,
                self.stage_cfg.init_from,
                self.stage_cfg.init_component or f"upsampler_{self.stage_cfg.model.high_res}",
            )
        return UpsamplerTrainModule(up, self.stage_cfg.last_step_timesteps)

    def maker(self) -> UpsamplerMaker:
        return UpsamplerMaker(self.stage_cfg)

    def loss(self, module: nn.Module, batch: dict[str, Any]) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        def model_fn(x_t: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
            return module(x_t, t, batch["low_res"], batch.get("inpaint")).float()

        terms = self.diffusion.training_losses(model_fn, batch["image"], batch["t"], batch["noise"])
        return terms["loss"], {"mse": terms["mse"]}

    @torch.no_grad()
    def sample(self, net: nn.Module, step: int) -> dict[str, float]:
        """Grid rows: the low-res input (bicubic), the upsampled crop, the real crop."""
        records = self.sample_records(self.cfg.train.num_samples, self.min_image_size())
        if not records:
            return {}
        maker = self.maker()
        crops, lows, inpaints = [], [], []
        for n, (_, caption, image) in enumerate(records):
            g = torch.Generator().manual_seed(self.cfg.train.seed + n)
            ex = maker.make(RecordData(caption, image, None), g)
            crops.append(ex["image"])
            lows.append(ex["low_res"])
            if "inpaint" in ex:
                inpaints.append(ex["inpaint"])
        real, low = torch.stack(crops), torch.stack(lows).to(self.device)
        inpaint = torch.stack(inpaints).to(self.device) if inpaints else None
        crop = real.shape[-1]
        settings = StageSampling("ddpm", self.cfg.train.sample_steps, 1.0)
        g = torch.Generator(device=self.device).manual_seed(self.cfg.train.seed)
        out = run_upsampler(net, low, crop, settings, g, inpaint=inpaint).clamp(-1, 1).cpu()  # type: ignore[arg-type]
        bicubic = upsample_low_res(low.float(), (crop, crop)).clamp(-1, 1).cpu()
        save_grid([list(bicubic), list(out), list(real)], self.run.samples / f"step-{step:08d}.png")
        return {
            "sample_mse": float(((out - real) ** 2).mean()),
            "bicubic_mse": float(((bicubic - real) ** 2).mean()),
        }
