"""Options shared by the generating subcommands: model, device, precision, per-stage sampler settings."""

from __future__ import annotations

import argparse
import math
import os
import re
import sys
from pathlib import Path
from typing import Any

from unclip.errors import InputError, UnclipError
from unclip.utils.checks import MAX_SEED

STAGES = ("prior", "decoder", "upsampler_256", "upsampler_1024")
DTYPES = {"fp32": "float32", "fp16": "float16", "bf16": "bfloat16"}  # torch dtype names (torch loads lazily)


def torch_dtype(name: str | None):  # type: ignore[no-untyped-def]
    """--dtype value -> torch dtype (None stays None: the model's automatic choice)."""
    import torch

    return getattr(torch, DTYPES[name]) if name else None


# ---------------------------------------------------------------------- argparse value types
def positive_int(text: str) -> int:
    """An argparse type: a whole number >= 1 (argparse names the flag in its error)."""
    value = _parse_int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a whole number of at least 1, got {text!r}")
    return value


def non_negative_int(text: str) -> int:
    """An argparse type: a whole number >= 0."""
    value = _parse_int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be a whole number of at least 0, got {text!r}")
    return value


def seed_int(text: str) -> int:
    """An argparse type: a random seed, a whole number from 0 to 2**64 - 1."""
    value = _parse_int(text)
    if not 0 <= value <= MAX_SEED:
        raise argparse.ArgumentTypeError(f"must be a whole number from 0 to 2**64 - 1, got {text!r}")
    return value


def finite_float(text: str) -> float:
    """An argparse type: a finite number (not nan or inf)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"must be a finite number, got {text!r}")
    return value


def _parse_int(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None


# ---------------------------------------------------------------------- options
def add_model_options(p: argparse.ArgumentParser, safety: bool = True) -> None:
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
        "--threads", type=positive_int, default=None, help="CPU threads for torch (default: torch's choice)"
    )
    if safety:
        add_safety_options(g)


def add_safety_options(g: Any) -> None:
    """--policy and --no-safety (the generating commands; `serve` has its own safety settings)."""
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


def add_provenance_options(p: argparse.ArgumentParser) -> None:
    """How the written PNGs are marked: every one carries the invisible watermark and a signed C2PA manifest."""
    g = p.add_argument_group(
        "provenance",
        "Every PNG written carries an invisible watermark and a C2PA manifest signed with your key, or with a "
        "local key generated on first use in $UNCLIP_CACHE/provenance (default ~/.cache/unclip/provenance). "
        "`unclip verify FILE` reads them back.",
    )
    g.add_argument(
        "--signature",
        action="store_true",
        help="also add DALL-E 2's visible signature: five coloured squares in the lower-right corner",
    )
    g.add_argument(
        "--signing-cert",
        metavar="PEM",
        default=None,
        help="certificate chain (PEM, end-entity first) to sign the C2PA manifests with",
    )
    g.add_argument(
        "--signing-key",
        metavar="PEM",
        default=None,
        help="its unencrypted private key (PEM; default: the same file as --signing-cert)",
    )


def provenance_from_args(args: argparse.Namespace):  # type: ignore[no-untyped-def]
    """The `Provenance` the provenance options ask for; a bad key file is an error naming it, before any work."""
    from unclip.provenance import Provenance

    marker = Provenance.from_files(
        getattr(args, "signing_cert", None),
        getattr(args, "signing_key", None),
        signature=bool(getattr(args, "signature", False)),
    )
    marker.key  # noqa: B018 - load (or generate) the key now: its errors come before minutes of sampling
    return marker


def add_stage_options(p: argparse.ArgumentParser, stages: tuple[str, ...] = STAGES) -> None:
    g = p.add_argument_group(
        "sampling (per stage; defaults come from the model)",
        "Stages: " + ", ".join(stages) + ". Samplers: ddpm, ddim, dpm++2m.",
    )
    for stage in stages:
        flag = stage.replace("_", "-")
        g.add_argument(
            f"--{flag}-steps", type=positive_int, default=None, metavar="N", help=f"{stage} sampling steps"
        )
        g.add_argument(
            f"--{flag}-sampler", choices=("ddpm", "ddim", "dpm++2m"), default=None, help=f"{stage} sampler"
        )
        if stage in ("prior", "decoder"):
            g.add_argument(
                f"--{flag}-guidance",
                type=finite_float,
                default=None,
                metavar="G",
                help=f"{stage} classifier-free guidance scale",
            )
    if "prior" in stages:
        g.add_argument(
            "--prior-candidates",
            type=positive_int,
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


def load_pipeline(args: argparse.Namespace, components: list[str] | None = None):  # type: ignore[no-untyped-def]
    """Load the model named by --model (or the embedded default). `components`: the optional components
    to load (None: all of them); a command that needs fewer starts sooner."""
    from unclip.pipeline.unclip_pipeline import UnCLIP
    from unclip.safety import Policy

    check_device(args.device)
    if args.threads:
        import torch

        torch.set_num_threads(args.threads)
    policy = Policy.from_file(args.policy) if getattr(args, "policy", None) else None
    provenance = provenance_from_args(args)
    safety = not getattr(args, "no_safety", False)
    if not safety:
        print("unclip: WARNING: --no-safety: the content policy is OFF (research use only)", file=sys.stderr)
    dtype = torch_dtype(args.dtype)
    pipe = UnCLIP.from_pretrained(
        args.model, device=args.device, dtype=dtype, components=components, safety=safety, policy=policy
    )
    pipe.provenance = provenance
    return pipe


def require_extra(extra: str, modules: tuple[str, ...], command: str) -> None:
    """A command that needs an optional extra says which one to install, in one line, instead of a
    traceback from a failed import deep inside it."""
    import importlib

    for module in modules:
        try:
            importlib.import_module(module)
        except ImportError:
            raise UnclipError(
                f"{command} needs the '{extra}' extra, which is not installed (no module {module!r}): "
                f"pip install 'unclip[{extra}]' (in a checkout: pip install -e '.[{extra}]')"
            ) from None


def check_text(text: str, what: str) -> None:
    """Command-line text (a prompt, a caption) must be valid UTF-8: the shell passes bytes, and bytes that
    are not UTF-8 arrive as unpaired surrogates that the tokenizer cannot encode."""
    from unclip.utils.checks import unpaired_surrogate

    if unpaired_surrogate(text) is not None:
        raise InputError(f"{what}: not valid UTF-8 text ({ascii(text)[:60]}); check the terminal's encoding")


def check_device(name: str | None) -> None:
    """A --device value names a device torch knows and this machine has (None: the automatic choice)."""
    from unclip.utils.device import resolve_device

    resolve_device(name, what="--device")


def check_out_dir(path: str | Path, flag: str = "-o/--out") -> Path:
    """Check, before any model work, that the output folder exists or can be made, and is writable.
    Nothing is created here (a run that fails later leaves no empty folder behind)."""
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise InputError(f"{flag} {path}: exists and is not a folder; give a folder for the output files")
    existing = path
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():
        raise InputError(f"{flag} {path}: cannot create the folder ({existing} is not a folder)")
    if not os.access(existing, os.W_OK | os.X_OK):
        what = (
            "the folder is not writable"
            if existing == path
            else f"cannot create the folder ({existing} is not writable)"
        )
        raise InputError(f"{flag} {path}: {what}")
    return path


def prepare_out_dir(path: str | Path, flag: str = "-o/--out") -> Path:
    """Create the output folder, or say why it cannot be used."""
    path = check_out_dir(path, flag)
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise InputError(f"{flag} {path}: cannot create the folder ({e.strerror or e})") from None
    return path


def check_new_file(path: str | Path, flag: str, overwrite: bool = False) -> Path:
    """A file the command will write: not a folder, not an existing file (unless `overwrite`), its
    folder creatable. Checked before any work, so a long run does not end in a failed write."""
    path = Path(path)
    if path.is_dir():
        raise InputError(f"{flag} {path}: is a folder; give a file name")
    if path.exists() and not overwrite:
        raise InputError(f"{flag} {path}: already exists (pass --overwrite to replace it)")
    check_out_dir(path.parent, flag=f"{flag} {path}: folder")
    return path


def write_file(path: Path, text: str, flag: str) -> None:
    prepare_out_dir(path.parent, flag=f"{flag} {path}: folder")
    try:
        path.write_text(text)
    except OSError as e:
        raise InputError(f"{flag} {path}: cannot write ({e.strerror or e})") from None


def save_png(image: Any, path: Path, provenance: Any = None) -> None:
    """Save one output image, marked and signed by `provenance` (an `unclip.provenance.Provenance`); a
    failed write (disk full, permissions) is an error naming the file."""
    if provenance is not None:
        provenance.save(image, path)
        return
    try:
        image.save(path, format="PNG")
    except OSError as e:
        raise InputError(f"{path}: cannot write ({e.strerror or e})") from None


def slug(text: str, limit: int = 40) -> str:
    s = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")
    return (s[:limit].rstrip("-")) or "image"


def write_images(images: list, out_dir: Path, stem: str, provenance: Any = None) -> list[Path]:  # type: ignore[type-arg]
    """Save PNGs as STEM-0.png, STEM-1.png, ... without overwriting existing files (marked and signed by
    `provenance`, see `save_png`)."""
    prepare_out_dir(out_dir)
    paths = []
    i = 0
    for image in images:
        while (out_dir / f"{stem}-{i}.png").exists():
            i += 1
        path = out_dir / f"{stem}-{i}.png"
        save_png(image, path, provenance)
        paths.append(path)
        i += 1
    return paths
