"""Options shared by the generating subcommands: model, device, precision, per-stage sampler settings."""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path
from typing import Any

STAGES = ("prior", "decoder", "upsampler_256", "upsampler_1024")
DTYPES = {"fp32": "float32", "fp16": "float16", "bf16": "bfloat16"}  # torch dtype names (torch loads lazily)


def torch_dtype(name: str | None):  # type: ignore[no-untyped-def]
    """--dtype value -> torch dtype (None stays None: the model's automatic choice)."""
    import torch

    return getattr(torch, DTYPES[name]) if name else None


def add_model_options(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("model")
    g.add_argument(
        "--model", metavar="DIR", default=None, help="model directory (default: the embedded default model)"
    )
    g.add_argument("--device", default=None, help="cpu, cuda, cuda:1 or mps (default: the best available)")
    g.add_argument(
        "--dtype",
        choices=sorted(DTYPES),
        default=None,
        help="weight precision (default: fp16 on CUDA/MPS, bf16 on CPUs with native bf16, else fp32)",
    )
    g.add_argument(
        "--threads", type=int, default=None, help="CPU threads for torch (default: torch's choice)"
    )
    g.add_argument(
        "--policy",
        metavar="FILE",
        default=None,
        help="content policy file (TOML/JSON) laid over the shipped default",
    )
    g.add_argument(
        "--no-safety",
        action="store_true",
        help="RESEARCH USE ONLY: turn the content policy off (prompts, uploads and outputs are not checked)",
    )


def add_stage_options(p: argparse.ArgumentParser, stages: tuple[str, ...] = STAGES) -> None:
    g = p.add_argument_group(
        "sampling (per stage; defaults come from the model)",
        "Stages: " + ", ".join(stages) + ". Samplers: ddpm, ddim, dpm++2m.",
    )
    for stage in stages:
        flag = stage.replace("_", "-")
        g.add_argument(f"--{flag}-steps", type=int, default=None, metavar="N", help=f"{stage} sampling steps")
        g.add_argument(
            f"--{flag}-sampler", choices=("ddpm", "ddim", "dpm++2m"), default=None, help=f"{stage} sampler"
        )
        if stage in ("prior", "decoder"):
            g.add_argument(
                f"--{flag}-guidance",
                type=float,
                default=None,
                metavar="G",
                help=f"{stage} classifier-free guidance scale",
            )
    if "prior" in stages:
        g.add_argument(
            "--prior-candidates",
            type=int,
            default=None,
            metavar="K",
            help="draw K image embeddings and keep the one closest to the text (paper: 2)",
        )


def stage_settings(args: argparse.Namespace) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for stage in STAGES:
        for field in ("steps", "sampler", "guidance"):
            value = getattr(args, f"{stage}_{field}", None)
            if value is not None:
                out[f"{stage}_{field}"] = value
    if getattr(args, "prior_candidates", None) is not None:
        out["prior_candidates"] = args.prior_candidates
    return out


def load_pipeline(args: argparse.Namespace):  # type: ignore[no-untyped-def]
    """Load the model named by --model (or the embedded default)."""
    from unclip.pipeline.unclip_pipeline import UnCLIP, default_model_path
    from unclip.safety import Policy

    if args.threads:
        import torch

        torch.set_num_threads(args.threads)
    policy = Policy.from_file(args.policy) if getattr(args, "policy", None) else None
    safety = not getattr(args, "no_safety", False)
    if not safety:
        print("unclip: WARNING: --no-safety: the content policy is OFF (research use only)", file=sys.stderr)
    dtype = torch_dtype(args.dtype)
    path = Path(args.model) if args.model else default_model_path()
    if args.model is None and not (path / "model_index.json").is_file():
        from unclip.pipeline.presets import build_cascade

        print(
            "unclip: warning: no embedded default model is installed; using a randomly initialised 'tiny' "
            "cascade (its images are noise). Pass --model DIR to use a trained model.",
            file=sys.stderr,
        )
        return UnCLIP(build_cascade("tiny"), device=args.device, safety=safety, policy=policy)
    return UnCLIP.from_pretrained(path, device=args.device, dtype=dtype, safety=safety, policy=policy)


def slug(text: str, limit: int = 40) -> str:
    s = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")
    return (s[:limit].rstrip("-")) or "image"


def write_images(images: list, out_dir: Path, stem: str) -> list[Path]:  # type: ignore[type-arg]
    """Save PNGs as STEM-0.png, STEM-1.png, ... without overwriting existing files."""
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = []
    i = 0
    for image in images:
        while (out_dir / f"{stem}-{i}.png").exists():
            i += 1
        path = out_dir / f"{stem}-{i}.png"
        image.save(path, format="PNG")
        paths.append(path)
        i += 1
    return paths
