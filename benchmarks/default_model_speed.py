"""Seconds per image of the embedded default model on this CPU, at 256 and 1024 px.

    python benchmarks/default_model_speed.py [--threads 2] [--repeats 3] [--model DIR] [--dtype auto|fp32|bf16]

Uses the model's own default sampler settings (stored in its model_index.json). The bars for the
embedded model on 2 CPU cores: 256 px under 5 s, 1024 px under 30 s.
"""

from __future__ import annotations

import argparse
import time

import torch


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--model", default=None, help="model directory (default: the embedded default model)")
    ap.add_argument(
        "--dtype",
        choices=("auto", "fp32", "bf16"),
        default="auto",
        help="auto (the library's default): bf16 on CPUs with native bf16 (AVX512-BF16, AMX), else fp32",
    )
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    from unclip.pipeline.unclip_pipeline import UnCLIP

    t0 = time.perf_counter()
    from unclip.cli.common import torch_dtype

    pipe = UnCLIP.from_pretrained(
        args.model, device="cpu", dtype=torch_dtype(None if args.dtype == "auto" else args.dtype)
    )
    print(f"load: {time.perf_counter() - t0:.2f} s; dtype {pipe.dtype}; threads {args.threads}")
    print(f"sampling defaults: {pipe.cascade.sampling.to_dict()}")
    prompts = ["a red apple", "a dog face", "a house with a garden", "a rocket"]
    for size in (256, 1024):
        pipe.generate(prompts[0], size=size, seed=0)  # warm-up
        times = []
        for i in range(args.repeats):
            t = time.perf_counter()
            pipe.generate(prompts[(i + 1) % len(prompts)], size=size, seed=i)
            times.append(time.perf_counter() - t)
        print(
            f"{size:5d} px: best {min(times):.2f} s, median {sorted(times)[len(times) // 2]:.2f} s per image "
            f"(prompt to PIL image, {args.repeats} runs)"
        )


if __name__ == "__main__":
    main()
