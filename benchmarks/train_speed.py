"""Training throughput (samples/second) per stage at the "bench" preset shapes, on this machine's CPU.

    python benchmarks/train_speed.py [--batch 8] [--steps 6] [--threads N] [--stages clip,prior,...]

Each stage trains for `--steps` optimizer steps on synthetic captioned images (data loading in one
worker process, as a real run would); the first two steps are warm-up and not counted. Prior and
decoder are conditioned on a bench-size CLIP, computing its embeddings on the fly (the slower case;
`unclip embed` removes the CLIP image tower from the loop).
"""

from __future__ import annotations

import argparse
import csv
import statistics
import tempfile
import time
from pathlib import Path

import torch
from PIL import Image, ImageDraw

from unclip.training.config import load_train_config
from unclip.training.example_configs import example_config
from unclip.training.trainer import train

WORDS = ["red", "green", "blue", "yellow", "circle", "square", "star", "heart", "cat", "dog", "tree", "house"]


def make_data(root: Path, n: int, size: int) -> Path:
    g = torch.Generator().manual_seed(0)
    root.mkdir(parents=True)
    for i in range(n):
        colour = tuple(int(c) for c in torch.randint(0, 255, (3,), generator=g))
        im = Image.new("RGB", (size, size), (255, 255, 255))
        a, b = sorted(int(v) for v in torch.randint(0, size, (2,), generator=g))
        ImageDraw.Draw(im).ellipse((a, a, max(b, a + 8), max(b, a + 8)), fill=colour)
        im.save(root / f"{i:04d}.png")
        words = [WORDS[int(j)] for j in torch.randint(0, len(WORDS), (3,), generator=g)]
        (root / f"{i:04d}.txt").write_text("a " + " ".join(words))
    return root


def run_stage(
    stage: str, root: Path, data: Path, batch: int, steps: int, threads: int, upsampler: int = 256
) -> float:
    cfg = example_config(
        stage,
        "bench",
        str(data),
        str(root / f"{stage}{upsampler if stage == 'upsampler' else ''}"),
        str(root / "clip"),
        upsampler=upsampler,
    )
    cfg["train"].update(
        steps=steps,
        batch_size=batch,
        log_every=1,
        checkpoint_every=steps,
        sample_every=0,
        progress=False,
        tensorboard=False,
        threads=threads,
    )
    cfg["data"].update(num_workers=1, min_image_size=32)
    if stage == "clip":
        cfg["clip"]["vocab_size"] = 1024
        cfg["clip"]["tokenizer_min_frequency"] = 1
    train(load_train_config(cfg, stage))
    with (Path(cfg["run_dir"]) / "metrics.csv").open() as f:
        rates = [float(r["samples_per_s"]) for r in csv.DictReader(f)][2:]
    return statistics.median(rates)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--batch", type=int, default=8)
    p.add_argument("--steps", type=int, default=6)
    p.add_argument("--threads", type=int, default=0, help="torch threads (0: torch default)")
    p.add_argument("--stages", default="clip,prior,decoder,upsampler_256,upsampler_1024")
    args = p.parse_args()
    stages = args.stages.split(",")
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        data = make_data(root / "data", 32, 256)
        results = {}
        if any(s in stages for s in ("prior", "decoder")) and "clip" not in stages:
            stages.insert(0, "clip")
        for stage in stages:
            t = time.time()
            if stage.startswith("upsampler"):
                rate = run_stage(
                    "upsampler", root, data, args.batch, args.steps, args.threads, int(stage.split("_")[1])
                )
            else:
                rate = run_stage(stage, root, data, args.batch, args.steps, args.threads)
            results[stage] = rate
            print(
                f"{stage:16s} {rate:8.2f} samples/s   (batch {args.batch}, {time.time() - t:.0f} s incl. set-up)",
                flush=True,
            )
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, CPU")


if __name__ == "__main__":
    main()
