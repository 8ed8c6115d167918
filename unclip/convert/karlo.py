"""Convert kakaobrain's Karlo (diffusers layout) into an unclip model directory.

Karlo folder(s) -> unclip component:

| unclip            | Karlo folders (one source each)                        |
| ----------------- | ------------------------------------------------------ |
| `clip`            | `text_encoder` + `tokenizer` [+ `image_encoder` + `feature_extractor`] |
| `prior`           | `prior` + `prior_scheduler`                            |
| `decoder`         | `decoder` + `text_proj` + `decoder_scheduler`          |
| `upsampler_256`   | `super_res_first` + `super_res_last` + `super_res_scheduler` |
| `upsampler_1024`  | optional: taken from an unclip model directory         |

`karlo-v1-alpha` has no image encoder (the model then embeds text only: generation works, variations
do not); `karlo-v1-alpha-image-variations` has no prior. Several sources can be combined: each group
comes from the first source that has it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import torch
from torch import nn

from unclip.cascade.container import Cascade
from unclip.cascade.model_dir import load_component, read_index, save_cascade
from unclip.cascade.settings import SamplingConfig, StageSampling
from unclip.convert.clip import convert_clip
from unclip.convert.decoder import convert_decoder
from unclip.convert.prior import convert_prior
from unclip.convert.scheduler import KARLO_SCHEDULERS, diffusion_config
from unclip.convert.source import DiffusersDir, KarloSource
from unclip.convert.upsampler import convert_upsampler
from unclip.errors import InputError, ModelFormatError
from unclip.models.clip import ClipModel
from unclip.models.decoder import Decoder
from unclip.models.diffusion_config import DiffusionConfig
from unclip.models.prior import Prior
from unclip.models.upsampler import Upsampler

# Karlo's sampler settings (diffusers' UnCLIPPipeline defaults): 25 / 25 / 7 DDPM steps, guidance 4 / 8.
KARLO_SAMPLING = SamplingConfig(
    prior=StageSampling("ddpm", 25, 4.0),
    decoder=StageSampling("ddpm", 25, 8.0),
    upsampler_256=StageSampling("ddpm", 7, 1.0),
    prior_candidates=1,
)

KNOWN_FOLDERS = (
    "prior",
    "prior_scheduler",
    "decoder",
    "text_proj",
    "decoder_scheduler",
    "super_res_first",
    "super_res_last",
    "super_res_scheduler",
    "text_encoder",
    "tokenizer",
    "image_encoder",
    "feature_extractor",
)
PIPELINES = ("UnCLIPPipeline", "UnCLIPImageVariationPipeline")

ATTRIBUTION = """# Attribution

Converted by `unclip convert karlo` from Kakao Brain's Karlo v1.0.alpha (https://github.com/kakaobrain/karlo,
https://huggingface.co/kakaobrain/karlo-v1-alpha), an unCLIP model trained on COYO-100M and CC15M, whose
weights are released under the CreativeML Open RAIL-M license; its use restrictions apply to this
converted copy. The CLIP ViT-L/14 text and image encoders are OpenAI's (MIT license).

Sources:
"""


@dataclass
class ConversionReport:
    """Where each unclip component came from, and what the converted model can do."""

    origins: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    image_tower: bool = False
    max_size: int = 256

    def summary(self) -> str:
        lines = [f"  {name:<15} <- {where}" for name, where in self.origins.items()]
        can = [f"generate up to {self.max_size} px"]
        can.append(
            "variations / image embeddings" if self.image_tower else "NOT variations (no image encoder)"
        )
        lines.append("  works: " + ", ".join(can))
        lines += [f"  note: {n}" for n in self.notes]
        return "\n".join(lines)


def _first(sources: list[KarloSource], folder: str) -> KarloSource | None:
    return next((s for s in sources if s.has(folder)), None)


def _need(sources: list[KarloSource], folder: str, hint: str = "") -> KarloSource:
    found = _first(sources, folder)
    if found is None:
        where = ", ".join(s.label for s in sources)
        raise ModelFormatError(f"{where}: no {folder}/ component" + (f"; {hint}" if hint else ""))
    return found


def _same(source: KarloSource, folder: str, with_: str) -> None:
    if not source.has(folder):
        raise ModelFormatError(f"{source.label}: has {with_}/ but no {folder}/ (they belong together)")


def _scheduler(source: KarloSource, folder: str, report: ConversionReport) -> DiffusionConfig:
    if source.has(folder):
        return diffusion_config(*source.config(folder))
    report.notes.append(f"{source.label} has no {folder}/; used Karlo's published {folder} settings")
    return diffusion_config(dict(KARLO_SCHEDULERS[folder]), f"Karlo's {folder}")


def _check_consistent(clip: ClipModel, prior: Prior, decoder: Decoder, up: Upsampler) -> None:
    c, p, d = clip.config, prior.config, decoder.config
    checks = [
        ("CLIP embedding size", c.embed_dim, p.clip_dim, d.clip_dim),
        ("caption feature width", c.text_width, p.text_width, d.text_width),
        ("caption length", c.text_max_tokens, p.max_text_tokens, c.text_max_tokens),
    ]
    for what, a, b, e in checks:
        if not a == b == e:
            raise ModelFormatError(f"components disagree on the {what}: clip {a}, prior {b}, decoder {e}")
    if up.config.high_res != 256:
        raise ModelFormatError(
            f"super_res_first: sample_size {up.config.high_res}; unclip's first upsampler makes 256 px"
        )


def convert_karlo(
    sources: list[KarloSource],
    upsampler_1024: str | Path | None = None,
    dtype: torch.dtype | None = None,
) -> tuple[Cascade, ConversionReport]:
    """Build the unclip cascade from Karlo sources (earlier sources win)."""
    report = ConversionReport()
    modules: dict[str, nn.Module] = {}

    def keep(name: str, module: nn.Module, origin: str) -> None:
        modules[name] = module.to(dtype) if dtype is not None else module
        report.origins[name] = origin

    src = _need(sources, "decoder")
    _same(src, "text_proj", "decoder")
    decoder = convert_decoder(
        src.config("decoder"),
        src.weights("decoder"),
        src.config("text_proj"),
        src.weights("text_proj"),
        _scheduler(src, "decoder_scheduler", report),
    )
    keep("decoder", decoder, f"{src.label}/decoder + text_proj")

    src = _need(
        sources,
        "prior",
        "karlo-v1-alpha-image-variations has no prior: add `--with` a karlo-v1-alpha download "
        "(see docs/KARLO.md)",
    )
    prior = convert_prior(
        *src.config("prior"), *src.weights("prior"), _scheduler(src, "prior_scheduler", report)
    )
    keep("prior", prior, f"{src.label}/prior")

    src = _need(sources, "super_res_first")
    _same(src, "super_res_last", "super_res_first")
    up = convert_upsampler(
        src.config("super_res_first"),
        src.weights("super_res_first"),
        src.config("super_res_last"),
        src.weights("super_res_last"),
        low_res=decoder.config.image_size,
        diffusion=_scheduler(src, "super_res_scheduler", report),
    )
    keep("upsampler_256", up, f"{src.label}/super_res_first + super_res_last")

    text_src = _need(sources, "text_encoder")
    _same(text_src, "tokenizer", "text_encoder")
    text_config = text_src.config("text_encoder")
    max_len = text_config[0].get("max_position_embeddings", 77)
    tokenizer, tokenizer_config = text_src.tokenizer(max_len)
    image_src = _first(sources, "image_encoder")
    clip = convert_clip(
        text_config,
        text_src.weights("text_encoder"),
        tokenizer,
        tokenizer_config,
        image_src.config("image_encoder") if image_src else None,
        image_src.weights("image_encoder") if image_src else None,
        image_src.config("feature_extractor") if image_src and image_src.has("feature_extractor") else None,
    )
    origin = f"{text_src.label}/text_encoder + tokenizer"
    if image_src:
        origin += f", {image_src.label}/image_encoder"
    else:
        report.notes.append(
            "no image_encoder/ in the sources: the model embeds text only; add `--with` a "
            "karlo-v1-alpha-image-variations download for variations"
        )
    keep("clip", clip, origin)
    report.image_tower = image_src is not None
    _check_consistent(clip, prior, decoder, up)

    sampling = SamplingConfig.from_dict(KARLO_SAMPLING.to_dict())
    attribution = ATTRIBUTION + "".join(f"- {s.label}\n" for s in sources)
    if upsampler_1024 is not None:
        path = Path(upsampler_1024)
        index = read_index(path)
        entry = index.components.get("upsampler_1024")
        if entry is None:
            raise ModelFormatError(f"{path}: this unclip model has no upsampler_1024 component")
        up1024 = load_component(path, "upsampler_1024", entry)
        if up1024.config.low_res != 256:  # type: ignore[union-attr]
            raise ModelFormatError(f"{path}/upsampler_1024: low_res is {up1024.config.low_res}, expected 256")  # type: ignore[union-attr]
        keep("upsampler_1024", up1024, f"{path}/upsampler_1024 (unclip)")
        sampling.upsampler_1024 = index.sampling.upsampler_1024
        report.max_size = 1024
        extra = path / "ATTRIBUTION.md"
        attribution += f"- {path} (upsampler_1024)\n"
        if extra.is_file():
            attribution += "\n## upsampler_1024\n\n" + extra.read_text()
    tokenizer.model_max_length = clip.config.text_max_tokens
    cascade = Cascade(tokenizer=tokenizer, modules=modules, sampling=sampling, attribution=attribution)
    return cascade.eval(), report


def _check_pipeline(source: DiffusersDir) -> None:
    index = source.root / "model_index.json"
    if index.is_file():
        try:
            name = json.loads(index.read_text()).get("_class_name")
        except (json.JSONDecodeError, UnicodeDecodeError, AttributeError) as e:
            raise ModelFormatError(f"{index}: not valid JSON ({e})") from e
        if name not in PIPELINES:
            raise ModelFormatError(f"{index}: a {name!r}, not a Karlo pipeline ({' or '.join(PIPELINES)})")
    elif not any(source.has(f) for f in KNOWN_FOLDERS):
        raise ModelFormatError(
            f"{source.root}: not a diffusers Karlo directory (no model_index.json and none of "
            f"{', '.join(KNOWN_FOLDERS)})"
        )


def convert_karlo_dir(
    src: str | Path,
    out: str | Path,
    with_dirs: list[str | Path] | tuple[str | Path, ...] = (),
    upsampler_1024: str | Path | None = None,
    dtype: torch.dtype | None = None,
    overwrite: bool = False,
) -> ConversionReport:
    """Convert the Karlo directory `src` (plus `with_dirs` for missing parts) into the unclip model `out`."""
    out = Path(out)
    if out.exists() and (not out.is_dir() or any(out.iterdir())) and not overwrite:
        raise InputError(f"{out}: already exists and is not empty (pass --overwrite to replace it)")
    sources = [DiffusersDir(p) for p in (src, *with_dirs)]
    for s in sources:
        _check_pipeline(s)
    cascade, report = convert_karlo(list[KarloSource](sources), upsampler_1024=upsampler_1024, dtype=dtype)
    description = "Karlo v1.0.alpha (kakaobrain), converted by `unclip convert karlo`"
    save_cascade(cascade, out, dtype=dtype, description=description)
    return report
