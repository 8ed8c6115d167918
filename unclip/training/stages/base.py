"""What every stage provides to the trainer, and helpers the diffusion stages share."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from PIL import Image
from torch import nn

from unclip.data.embeddings import EmbeddingStore
from unclip.data.records import BadRecord, decode_image
from unclip.data.source import ImageTextSource
from unclip.diffusion import GaussianDiffusion, NoiseSchedule, make_betas
from unclip.models.diffusion_config import DiffusionConfig
from unclip.training.config import TrainConfig
from unclip.training.examples import ExampleMaker
from unclip.training.runs import RunDir, load_trained
from unclip.utils.config import Config
from unclip.utils.images import tensor_to_pil


class Stage:
    """One trainable stage. The trainer calls, in order: `setup`, `build`, `maker`, then per micro-step
    `loss`, and every `sample_every` steps `sample` (main process only, EMA weights in place)."""

    name = ""
    metric_names: tuple[str, ...] = ()  # per-sample metrics `loss` returns besides the loss
    # Classes of the network's repeated blocks: FSDP's unit per block (TRANSFORMER_BASED_WRAP). Each must
    # only ever be called through its forward (a unit's parameters are gathered in its forward hook).
    fsdp_blocks: tuple[str, ...] = ()

    def __init__(self, cfg: TrainConfig, run: RunDir, device: torch.device, is_main: bool):
        self.cfg = cfg
        self.stage_cfg: Any = cfg.stage
        self.run = run
        self.device = device
        self.is_main = is_main
        self.store: EmbeddingStore | None = None
        self.source: ImageTextSource | None = None

    # -- set-up -------------------------------------------------------------------------------------
    @property
    def component(self) -> str:
        """The cascade component this stage trains (`unclip train export` puts it there)."""
        raise NotImplementedError

    @property
    def model_config(self) -> Config:
        return self.stage_cfg.model

    def default_min_image_size(self) -> int:
        return 0

    def min_image_size(self) -> int:
        """Images with a shorter side are skipped as too small."""
        return self.cfg.data.min_image_size or self.default_min_image_size()

    def setup(self, source: ImageTextSource, barrier: Any) -> None:
        """Load frozen networks, tokenizers and statistics; `barrier()` syncs all processes."""
        self.source = source

    def build(self) -> NetWrapper:
        """The module to optimise: a wrapper whose `.net` is the component network."""
        raise NotImplementedError

    def maker(self) -> ExampleMaker:
        raise NotImplementedError

    def run_info(self) -> dict[str, Any]:
        return {"stage": self.name, "component": self.component, "model": self.model_config.to_dict()}

    # -- training -----------------------------------------------------------------------------------
    def loss(self, module: nn.Module, batch: dict[str, Any]) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """Per-sample losses [b] and per-sample metrics (each [b])."""
        raise NotImplementedError

    # -- monitoring ---------------------------------------------------------------------------------
    def sample(self, net: nn.Module, step: int) -> dict[str, float]:
        """Write a sample grid (if the stage has images) and return sample metrics."""
        return {}

    def sample_records(self, n: int, min_size: int = 0) -> list[tuple[int, str, Image.Image]]:
        """`n` readable records spread evenly over the dataset: fixed for the run, so grids are
        comparable over time, and varied (datasets are often sorted by kind)."""
        assert self.source is not None
        total = len(self.source)
        order = [i * total // n for i in range(n)] + list(range(total))  # evenly spaced, then any
        out: list[tuple[int, str, Image.Image]] = []
        used: set[int] = set()
        for i in order:
            if len(out) == n:
                break
            if i in used:
                continue
            used.add(i)
            try:
                image = decode_image(self.source.read_image_bytes(i), min_size, self.source.keys[i])
            except BadRecord:
                continue
            out.append((i, self.source.captions[i], image))
        return out


class NetWrapper(nn.Module):
    """Holds the component network as `.net` (its state dict is what checkpoints store)."""

    def __init__(self, net: nn.Module):
        super().__init__()
        self.net: nn.Module = net


def make_diffusion(
    cfg: DiffusionConfig, min_snr_gamma: float = 0.0, v_weight_cap: float = 0.0
) -> GaussianDiffusion:
    return GaussianDiffusion(
        NoiseSchedule(make_betas(cfg.schedule, cfg.num_timesteps)),  # type: ignore[arg-type]
        prediction=cfg.prediction,  # type: ignore[arg-type]
        learned_variance=cfg.learned_variance,
        min_snr_gamma=min_snr_gamma,
        v_weight_cap=v_weight_cap,
    )


def draw_diffusion(
    cfg: DiffusionConfig,
    shape: tuple[int, ...],
    g: torch.Generator,
    high_noise_share: float = 0.0,
    high_noise_from: int = 0,
) -> dict[str, torch.Tensor]:
    """The per-sample timestep and noise. With `high_noise_share` > 0 that share of the timesteps is
    drawn from [high_noise_from, num_timesteps) only, the rest uniformly from the whole schedule."""
    low = high_noise_from if high_noise_share > 0 and torch.rand((), generator=g) < high_noise_share else 0
    return {
        "t": torch.randint(low, cfg.num_timesteps, (), generator=g),
        "noise": torch.randn(shape, generator=g),
    }


def init_from(net: nn.Module, path: str, component: str) -> list[str]:
    """Copy weights from a trained network into `net`. Tensors whose input-channel count grew (an
    inpainting model's first conv) get the old weights in their first channels and zeros in the new
    ones, so the fine-tuned model starts out computing exactly what the original did. Returns notes."""
    source = load_trained(path, component).state_dict()
    target = net.state_dict()
    notes = []
    with torch.no_grad():
        for key, value in target.items():
            src = source.get(key)
            if src is None:
                notes.append(f"{key}: not in {path}, left as initialised")
                continue
            if src.shape == value.shape:
                value.copy_(src)
            elif (
                src.dim() == value.dim()
                and src.dim() >= 2
                and src.shape[0] == value.shape[0]
                and src.shape[2:] == value.shape[2:]
                and src.shape[1] < value.shape[1]
            ):
                value.zero_()
                value[:, : src.shape[1]].copy_(src)
                notes.append(f"{key}: {src.shape[1]} -> {value.shape[1]} input channels (new ones zero)")
            else:
                raise ValueError(
                    f"{key}: shape {tuple(src.shape)} in {path} does not fit {tuple(value.shape)}"
                )
    return notes


def save_grid(rows: list[list[torch.Tensor]], path: Path, cell: int | None = None) -> None:
    """Save rows of [3, H, W] images in [-1, 1] as one PNG grid (every cell resized to `cell` px, nearest)."""
    flat = [im for row in rows for im in row]
    if not flat:
        return
    cell = cell or max(im.shape[-1] for im in flat)
    cols = max(len(r) for r in rows)
    grid = torch.ones(3, len(rows) * cell, cols * cell)
    for r, row in enumerate(rows):
        for c, im in enumerate(row):
            im = im.float().cpu()
            if im.shape[-1] != cell or im.shape[-2] != cell:
                im = torch.nn.functional.interpolate(im[None], size=(cell, cell), mode="nearest")[0]
            grid[:, r * cell : (r + 1) * cell, c * cell : (c + 1) * cell] = im
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp.png")
    tensor_to_pil(grid[None])[0].save(tmp)
    tmp.replace(path)
