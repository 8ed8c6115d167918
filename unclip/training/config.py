"""The training config schema: one typed, strictly checked config per stage.

A config file (TOML, JSON or YAML) has `run_dir`, the sections `[data]`, `[train]`, `[optim]` and one
stage section, `[clip]`, `[prior]`, `[decoder]` or `[upsampler]`, whose `model` is the component config
itself (ClipConfig, PriorConfig, DecoderConfig, UpsamplerConfig), so the exported model directory holds
exactly what was trained. Unknown keys and wrong types are errors that name the key. Every field's
comment is its documentation (docs/TRAINING.md is generated from them).
"""

from __future__ import annotations

import json
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from unclip.data.config import DataConfig
from unclip.models.clip import ClipConfig
from unclip.models.decoder import DecoderConfig
from unclip.models.prior import PriorConfig
from unclip.models.upsampler import UpsamplerConfig
from unclip.utils.config import Config, ConfigError, read_text_file

STAGES = ("clip", "prior", "decoder", "upsampler")
PRECISIONS = ("no", "fp16", "bf16")


@dataclass(kw_only=True)
class LoopConfig(Config):
    """How long and how to train, when to checkpoint, log and sample."""

    steps: int = 10000  # optimizer steps to train for
    max_minutes: float = 0.0  # also stop (checkpoint, exit) after this much wall time in the loop, e.g. a time-limited GPU job (0: no limit)
    batch_size: int = 64  # global batch per optimizer step: all processes and accumulation steps together
    micro_batch_size: int = 0  # samples per process per forward pass (0: batch_size / processes, no accumulation); batch_size must be a multiple of micro_batch_size x processes
    seed: int = 0  # seeds initialisation, data order and every per-sample random draw
    mixed_precision: str = "no"  # "no" | "fp16" | "bf16" (autocast; weights and optimizer stay fp32)
    ema_decay: float = 0.9999  # decay of the EMA weights (paper: 0.999-0.9999); warmed up as min(decay, (1+n)/(10+n))
    checkpoint_every: int = 1000  # write a checkpoint every N steps (and on SIGTERM/SIGINT, and at the end)
    keep_checkpoints: int = 2  # keep the N newest checkpoints (0: keep all)
    log_every: int = 10  # write a metrics.csv row every N steps
    sample_every: int = 1000  # write a sample grid / sample metrics every N steps (0: never)
    num_samples: int = 8  # records sampled for the grid / sample metrics (spread evenly over the data; fixed for the run)
    sample_steps: int = 25  # sampler steps for the sample grid
    sample_guidance: float = 3.0  # classifier-free guidance for the sample grid (decoder, prior)
    tensorboard: bool = True  # also log to TensorBoard (when the tensorboard package is installed)
    progress: bool = True  # show a progress bar with loss and ETA
    threads: int = 0  # torch CPU threads per process (0: torch's default)

    def __post_init__(self) -> None:
        for name in ("steps", "batch_size", "checkpoint_every", "log_every", "num_samples", "sample_steps"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
        if self.max_minutes < 0:
            raise ValueError(f"max_minutes must be >= 0, got {self.max_minutes}")
        if self.micro_batch_size < 0:
            raise ValueError(f"micro_batch_size must be >= 0, got {self.micro_batch_size}")
        if self.mixed_precision not in PRECISIONS:
            raise ValueError(f"mixed_precision must be one of {list(PRECISIONS)}, got {self.mixed_precision!r}")
        if not 0.0 <= self.ema_decay < 1.0:
            raise ValueError(f"ema_decay must be in [0, 1), got {self.ema_decay}")


@dataclass(kw_only=True)
class OptimConfig(Config):
    """AdamW with linear warm-up and a constant or cosine learning rate."""

    lr: float = 1e-4  # peak learning rate
    betas: tuple[float, float] = (0.9, 0.999)  # AdamW betas
    eps: float = 1e-8  # AdamW epsilon
    weight_decay: float = 0.0  # decoupled weight decay (matrices only; never norms, biases or embeddings of size 1)
    warmup_steps: int = 1000  # linear LR warm-up from 0 over this many steps
    schedule: str = "constant"  # after warm-up: "constant" or "cosine" (decay to min_lr_ratio * lr at the last step)
    min_lr_ratio: float = 0.0  # cosine schedule floor, as a fraction of lr
    grad_clip: float = 1.0  # clip the global gradient norm to this (0: no clipping)

    def __post_init__(self) -> None:
        if self.lr <= 0:
            raise ValueError(f"lr must be > 0, got {self.lr}")
        if self.schedule not in ("constant", "cosine"):
            raise ValueError(f"schedule must be 'constant' or 'cosine', got {self.schedule!r}")
        if self.warmup_steps < 0 or self.grad_clip < 0:
            raise ValueError("warmup_steps and grad_clip must be >= 0")


@dataclass(kw_only=True)
class ClipStage(Config):
    """Contrastive CLIP training; also trains the BPE tokenizer on the captions."""

    model: ClipConfig = field(default_factory=ClipConfig)  # the CLIP towers (vocab_size and the special token ids are set from the tokenizer)
    tokenizer: str = ""  # a tokenizer folder (vocab.json + merges.txt) to use as is ("": train one on the captions)
    vocab_size: int = 8192  # size of the trained BPE vocabulary (includes the 512 byte tokens)
    tokenizer_min_frequency: int = 2  # merges seen fewer times are not learned


@dataclass(kw_only=True)
class PriorStage(Config):
    """Diffusion prior on normalised CLIP image embeddings (predicts x0)."""

    model: PriorConfig = field(default_factory=PriorConfig)  # the prior transformer
    clip: str = ""  # CLIP run folder (`unclip train clip`) or model directory: frozen text/image encoders and tokenizer
    caption_dropout: float = 0.1  # replace the caption with the empty caption (paper: 10%)
    stats_samples: int = 10000  # image embeddings used for the normalisation mean/std (stored in the prior)

    def __post_init__(self) -> None:
        if not self.clip:
            raise ValueError("clip is empty: name the CLIP run folder or a model directory")
        _fraction("caption_dropout", self.caption_dropout)


@dataclass(kw_only=True)
class DecoderStage(Config):
    """64 px decoder conditioned on CLIP image embeddings and captions (learned variance)."""

    model: DecoderConfig = field(default_factory=DecoderConfig)  # the decoder U-Net; model.inpainting = true trains GLIDE-style inpainting
    clip: str = ""  # CLIP run folder or model directory (frozen encoders and tokenizer)
    image_embed_dropout: float = 0.1  # replace the CLIP image embedding with the learned null embedding (paper: 10%)
    caption_dropout: float = 0.5  # replace the caption with the empty caption (paper: 50%)
    min_snr_gamma: float = 0.0  # weight the denoising loss by min(SNR, gamma) in x0 terms (Min-SNR; 5 is typical); 0: off (paper)
    v_weight_cap: float = 0.0  # weight the loss as v-prediction does (SNR + 1 in x0 terms), relative weight capped at this; 0: off (paper)
    high_noise_share: float = 0.0  # share of training timesteps drawn from [high_noise_from, T) only (the layout-forming steps); 0: uniform (paper)
    high_noise_from: int = 600  # first timestep of that high-noise range
    init_from: str = ""  # initialise from a decoder run folder or model directory (inpainting fine-tuning: the extra input channels start at zero)
    init_component: str = "decoder"  # which component of an init_from model directory: "decoder", or "decoder_inpaint" to continue an inpainting decoder

    def __post_init__(self) -> None:
        if not self.clip:
            raise ValueError("clip is empty: name the CLIP run folder or a model directory")
        _fraction("image_embed_dropout", self.image_embed_dropout)
        _fraction("caption_dropout", self.caption_dropout)
        _fraction("high_noise_share", self.high_noise_share)
        if self.v_weight_cap < 0:
            raise ValueError(f"v_weight_cap must be non-negative (0: off), got {self.v_weight_cap}")
        if self.v_weight_cap > 0 and self.min_snr_gamma > 0:
            raise ValueError("min_snr_gamma and v_weight_cap are two loss weightings: set at most one")
        if not 0 <= self.high_noise_from < self.model.diffusion.num_timesteps:
            raise ValueError(
                f"high_noise_from must be in [0, {self.model.diffusion.num_timesteps - 1}], got {self.high_noise_from}"
            )
        if self.init_component not in ("decoder", "decoder_inpaint"):
            raise ValueError(f"init_component must be decoder or decoder_inpaint, got {self.init_component!r}")


@dataclass(kw_only=True)
class UpsamplerStage(Config):
    """Diffusion upsampler on random crops with a degraded low-resolution input."""

    model: UpsamplerConfig = field(default_factory=UpsamplerConfig)  # the upsampler U-Net (low_res -> high_res)
    crop_size: int = 0  # side of the random training crops of the high_res image (0: high_res / 4, as in the paper)
    degradation: str = "auto"  # low-res corruption: "blur" (Gaussian), "bsr" (blur, resize, noise, JPEG in random order), "none"; "auto": blur when low_res <= 64, else bsr
    blur_kernel: int = 3  # Gaussian blur kernel size of "blur" (paper: 3)
    blur_sigma: float = 0.6  # Gaussian blur sigma of "blur" (paper: 0.6)
    last_step_timesteps: int = 1  # with model.separate_last_step: timesteps below this train the last-step network
    last_step_fraction: float = 0.1  # with model.separate_last_step: share of samples drawn at those timesteps
    min_snr_gamma: float = 0.0  # weight the denoising loss by min(SNR, gamma) in x0 terms (Min-SNR; 5 is typical); 0: off (paper)
    init_from: str = ""  # initialise from an upsampler run folder or model directory (inpainting fine-tuning)
    init_component: str = ""  # which component of an init_from model directory ("": upsampler_<high_res>; e.g. "upsampler_256_inpaint")

    def __post_init__(self) -> None:
        if self.degradation not in ("auto", "blur", "bsr", "none"):
            raise ValueError(f"degradation must be auto, blur, bsr or none, got {self.degradation!r}")
        if self.blur_kernel < 1 or self.blur_kernel % 2 == 0:
            raise ValueError(f"blur_kernel must be odd and >= 1, got {self.blur_kernel}")
        if self.init_component and not self.init_component.startswith("upsampler_"):
            raise ValueError(f"init_component must name an upsampler component (upsampler_256, upsampler_256_inpaint, ...), got {self.init_component!r}")
        if self.crop_size < 0:
            raise ValueError(f"crop_size must be >= 0, got {self.crop_size}")
        _fraction("last_step_fraction", self.last_step_fraction)

    @property
    def crop(self) -> int:
        return self.crop_size or self.model.high_res // 4

    @property
    def low_crop(self) -> int:
        return self.crop * self.model.low_res // self.model.high_res

    @property
    def degradation_kind(self) -> str:
        if self.degradation != "auto":
            return self.degradation
        return "blur" if self.model.low_res <= 64 else "bsr"


def _fraction(name: str, value: float) -> None:
    if not 0.0 <= value <= 1.0:
        raise ValueError(f"{name} must be in [0, 1], got {value}")


@dataclass(kw_only=True)
class TrainConfig(Config):
    """Shared by every stage."""

    run_dir: str  # folder for the config, checkpoints, metrics, samples and logs of this run
    data: DataConfig = field(default_factory=DataConfig)  # the training data
    train: LoopConfig = field(default_factory=LoopConfig)  # the training loop
    optim: OptimConfig = field(default_factory=OptimConfig)  # the optimizer and LR schedule

    stage_name = ""

    @property
    def stage(self) -> Any:
        return getattr(self, self.stage_name)


@dataclass(kw_only=True)
class ClipTrainConfig(TrainConfig):
    stage_name = "clip"
    clip: ClipStage = field(default_factory=ClipStage)  # the CLIP stage


@dataclass(kw_only=True)
class PriorTrainConfig(TrainConfig):
    stage_name = "prior"
    prior: PriorStage  # the prior stage


@dataclass(kw_only=True)
class DecoderTrainConfig(TrainConfig):
    stage_name = "decoder"
    decoder: DecoderStage  # the decoder stage


@dataclass(kw_only=True)
class UpsamplerTrainConfig(TrainConfig):
    stage_name = "upsampler"
    upsampler: UpsamplerStage  # the upsampler stage

    def __post_init__(self) -> None:
        up = self.upsampler
        factor = up.model.high_res // up.model.low_res
        if up.crop % factor or up.crop > up.model.high_res:
            raise ValueError(
                f"upsampler.crop_size {up.crop} must be a multiple of high_res/low_res = {factor}, at most high_res"
            )


CONFIG_CLASSES: dict[str, type[TrainConfig]] = {
    "clip": ClipTrainConfig,
    "prior": PriorTrainConfig,
    "decoder": DecoderTrainConfig,
    "upsampler": UpsamplerTrainConfig,
}


def read_config_file(path: str | Path) -> dict[str, Any]:
    """Parse a TOML, JSON or YAML file into a dict (format by suffix)."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"{path}: config file not found")
    text = read_text_file(path)
    suffix = path.suffix.lower()
    try:
        if suffix == ".toml":
            data = tomllib.loads(text)
        elif suffix == ".json":
            data = json.loads(text)
        elif suffix in (".yaml", ".yml"):
            try:
                import yaml
            except ImportError as e:
                raise ConfigError(f"{path}: YAML configs need PyYAML (pip install pyyaml), or use TOML") from e
            data = yaml.safe_load(text)
        else:
            raise ConfigError(f"{path}: unknown config type {suffix!r} (use .toml, .json or .yaml)")
    except (tomllib.TOMLDecodeError, json.JSONDecodeError) as e:
        raise ConfigError(f"{path}: not valid {suffix[1:].upper()} ({e})") from e
    except Exception as e:
        if type(e).__module__.startswith("yaml"):
            raise ConfigError(f"{path}: not valid YAML ({e})") from e
        raise
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a table/object at the top level")
    return data


def _parse_value(text: str) -> Any:
    try:
        return tomllib.loads(f"v = {text}")["v"]
    except tomllib.TOMLDecodeError:
        return text  # a bare string


def apply_overrides(data: dict[str, Any], overrides: list[str]) -> dict[str, Any]:
    """`["train.steps=100", "optim.lr=3e-4"]` -> set those keys (values are TOML literals, or strings)."""
    for item in overrides:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise ConfigError(f"--set {item!r}: expected KEY=VALUE, e.g. train.steps=100")
        node = data
        parts = key.strip().split(".")
        for part in parts[:-1]:
            node = node.setdefault(part, {})
            if not isinstance(node, dict):
                raise ConfigError(f"--set {item!r}: {part} is not a section")
        node[parts[-1]] = _parse_value(value.strip())
    return data


def load_train_config(path: str | Path | dict[str, Any], stage: str, overrides: list[str] | None = None) -> TrainConfig:
    """Load and check the config of `stage` (the file's stage section must be that stage's)."""
    if stage not in CONFIG_CLASSES:
        raise ConfigError(f"unknown stage {stage!r}; stages: {', '.join(STAGES)}")
    data = dict(path) if isinstance(path, dict) else read_config_file(path)
    where = str(path) if not isinstance(path, dict) else "config"
    others = [s for s in STAGES if s != stage and s in data]
    if others and stage not in data:
        raise ConfigError(f"{where}: this is a {others[0]} config, not a {stage} config (`unclip train {others[0]}`)")
    if stage != "clip" and stage not in data:
        raise ConfigError(f"{where}: missing the [{stage}] section")
    data = apply_overrides(data, overrides or [])
    return CONFIG_CLASSES[stage].from_dict(data, where=where)
