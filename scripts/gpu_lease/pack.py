"""Pack training runs so they fit what a leased GPU machine may send back (files of at most 16 MiB).

Each run keeps its config, logs and newest checkpoint, whose weights become the EMA weights in fp16
(written once: ema.safetensors is a hard link to model.safetensors, which tar stores once); the
optimizer and RNG state are dropped, so such a run can be exported (`unclip train export`) but not
resumed. Everything goes into one tar, split into parts: `cat runs.tar.part-* > runs.tar`.

    python scripts/gpu_lease/pack.py RUNS_DIR OUT_DIR
"""

from __future__ import annotations

import os
import sys
import tarfile
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file

from unclip.training.checkpoint import latest_checkpoint

PART_BYTES = 15 * 1024 * 1024


def slim(run: Path) -> None:
    ckpt = latest_checkpoint(run / "checkpoints")
    if ckpt is None:
        raise SystemExit(f"{run}: no checkpoint")
    for old in (run / "checkpoints").iterdir():
        if old != ckpt:
            for f in old.iterdir():
                f.unlink()
            old.rmdir()
    # The live weights with the EMA parameters laid over them (buffers such as the prior's embedding
    # statistics are not averaged and stay as they are, in full precision).
    ema = {
        k: v.to(torch.float16) if v.is_floating_point() else v
        for k, v in load_file(str(ckpt / "ema.safetensors")).items()
    }
    merged = {**load_file(str(ckpt / "model.safetensors")), **ema}
    for name in ("model.safetensors", "ema.safetensors", "optimizer.safetensors", "rng.safetensors"):
        (ckpt / name).unlink(missing_ok=True)
    save_file(merged, str(ckpt / "model.safetensors"))
    os.link(ckpt / "model.safetensors", ckpt / "ema.safetensors")
    print(f"{run.name}: {ckpt.name}, {(ckpt / 'ema.safetensors').stat().st_size / 1e6:.1f} MB fp16")


def main(runs_dir: str, out_dir: str) -> None:
    runs = sorted(p for p in Path(runs_dir).iterdir() if (p / "checkpoints").is_dir())
    tar_path = Path(runs_dir) / "runs.tar"
    with tarfile.open(tar_path, "w") as tar:
        for run in runs:
            slim(run)
            tar.add(
                run,
                arcname=run.name,
                filter=lambda t: None if "/samples" in t.name or "/tensorboard" in t.name else t,
            )
    data = tar_path.read_bytes()
    out = Path(out_dir)
    for i in range(0, len(data), PART_BYTES):
        (out / f"runs.tar.part-{i // PART_BYTES:02d}").write_bytes(data[i : i + PART_BYTES])
    print(
        f"packed {len(runs)} runs: {len(data) / 1e6:.1f} MB in {(len(data) + PART_BYTES - 1) // PART_BYTES} parts"
    )


if __name__ == "__main__":
    if len(sys.argv) != 3:
        raise SystemExit(__doc__)
    main(sys.argv[1], sys.argv[2])
