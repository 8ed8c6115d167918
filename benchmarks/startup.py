"""Start-up cost of `unclip generate`: one 256 px image as a whole process, and where the time goes.

    python benchmarks/startup.py              # 3 runs of the command, then one instrumented breakdown
    python benchmarks/startup.py --runs 5 --size 1024

Part 1 runs `unclip generate "a red apple" --size 256 --seed 0 -o TMP` (the embedded default model,
its own sampler settings) as a fresh process each time and prints wall and CPU seconds (min and
median), plus `unclip --help`, and the same command with one sampling step per stage (what start-up
and exit cost, apart from the sampling). Part 2 runs the same steps in one fresh process with a clock around
each phase (imports, content policy, model loading split into reading and verifying the weights,
building the networks on the meta device, assigning the weights, converting the rest, then generation
and marking, signing and writing the PNG). The content policy's classifier is read from its cache
($UNCLIP_CACHE/safety), which the first run writes. The machine's load average is printed: on a shared
machine wall times swing with it.
"""

from __future__ import annotations

import argparse
import ast
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

PROMPT = "a red apple"

# Runs in a fresh interpreter: the phases of one generate, each timed (wrappers only measure).
BREAKDOWN = r"""
import sys, time
t = time.perf_counter()
marks = []
def mark(name):
    global t
    now = time.perf_counter(); marks.append((name, now - t)); t = now
import unclip.cli.main as cli
cli.build_parser()
mark("unclip CLI import + argument parser")
import torch
mark("import torch")
import unclip.models.clip, unclip.models.tokenizer, cv2, pywt, c2pa
mark("import CLIP, tokenizer, provenance (OpenCV, PyWavelets, c2pa)")
from unclip.safety import Policy
policy = Policy.default()
policy.check_prompt(PROMPT)
mark("content policy: load + prompt check")
import unclip.cascade.model_dir as md
from unclip.cascade.container import Cascade
from unclip.pipeline.unclip_pipeline import UnCLIP
parts = {"read + verify weights (sha256)": 0.0, "assign weights (load_state_dict)": 0.0,
         "convert precision (.to)": 0.0}
def timed(name, fn):
    def wrapper(*a, **k):
        s = time.perf_counter()
        try:
            return fn(*a, **k)
        finally:
            parts[name] += time.perf_counter() - s
    return wrapper
md._load_weights = timed("read + verify weights (sha256)", md._load_weights)
torch.nn.Module.load_state_dict = timed("assign weights (load_state_dict)", torch.nn.Module.load_state_dict)
Cascade.to = timed("convert precision (.to)", Cascade.to)
s = time.perf_counter()
pipe = UnCLIP.from_pretrained(None, components=COMPONENTS, policy=policy)
total = time.perf_counter() - s
mark("load the model")
build = total - sum(parts.values())
images = pipe.generate([PROMPT], n=1, size=SIZE, seed=0)
mark("generate (with the output check)")
pipe.save(images[0], OUT)
mark("mark, sign and write the PNG")
print("PHASES", repr(marks))
print("LOAD", repr(dict(parts, **{"build the networks (meta device) + tokenizer": build})), repr(str(pipe.dtype)))
"""


def cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def timed_run(cmd: list[str], cwd: str) -> tuple[float, float]:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(cmd, cwd=cwd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def summary(name: str, runs: list[tuple[float, float]]) -> None:
    walls, cpus = [w for w, _ in runs], [c for _, c in runs]
    print(
        f"{name}: wall min {min(walls):.2f} s, median {statistics.median(walls):.2f} s; "
        f"CPU min {min(cpus):.2f} s, median {statistics.median(cpus):.2f} s ({len(runs)} runs)"
    )


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--size", type=int, default=256, choices=(64, 256, 512, 1024))
    ap.add_argument(
        "--target", type=float, default=4.0, help="seconds the whole process should take (default 4)"
    )
    args = ap.parse_args()
    print(f"machine: {os.cpu_count()} cores, {cpu_name()}; load average {os.getloadavg()[0]:.1f} at start")
    with tempfile.TemporaryDirectory() as tmp:
        unclip = [sys.executable, "-m", "unclip.cli.main"]
        summary("unclip --help", [timed_run(unclip + ["--help"], tmp) for _ in range(args.runs)])
        gen = unclip + ["generate", PROMPT, "--size", str(args.size), "--seed", "0", "-o", tmp]
        runs = [timed_run(gen, tmp) for _ in range(args.runs)]
        summary(f"unclip generate --size {args.size} (whole process)", runs)
        # The same process with one step per stage: start-up and exit, with next to no sampling (on a
        # busy machine the sampling's time swings far more than the start-up's).
        one_step = ["--prior-steps", "1", "--decoder-steps", "1", "--upsampler-256-steps", "1"]
        one_step += ["--prior-candidates", "1"]
        if args.size > 256:
            one_step += ["--upsampler-1024-steps", "1"]
        summary(
            "  the same with 1 step per stage (start-up + exit)",
            [timed_run(gen + one_step, tmp) for _ in range(args.runs)],
        )

        components = [] if args.size <= 256 else ["upsampler_1024"]
        code = (
            BREAKDOWN.replace("PROMPT", repr(PROMPT))
            .replace("COMPONENTS", repr(components))
            .replace("SIZE", str(args.size))
            .replace("OUT", repr(str(Path(tmp) / "breakdown.png")))
        )
        start = time.perf_counter()
        proc = subprocess.run(
            [sys.executable, "-c", code], cwd=tmp, capture_output=True, text=True, check=True
        )
        whole = time.perf_counter() - start
    phases = load = dtype = None
    for line in proc.stdout.splitlines():
        if line.startswith("PHASES "):
            phases = ast.literal_eval(line[7:])
        elif line.startswith("LOAD "):
            load_text, dtype = line[5:].rsplit(" ", 1)
            load = ast.literal_eval(load_text)
    print(f"\nwhere the time goes (one instrumented process, {whole:.2f} s in all, dtype {dtype}):")
    accounted = 0.0
    for name, seconds in phases or []:
        accounted += seconds
        print(f"  {seconds:6.2f} s  {name}")
        if name == "load the model":
            for part, part_s in (load or {}).items():
                print(f"           {part_s:6.2f} s  {part}")
    print(f"  {whole - accounted:6.2f} s  interpreter start-up and exit")
    best = min(w for w, _ in runs)
    print(
        f"\nwhole process, best of {args.runs}: {best:.2f} s (target {args.target:.1f} s): "
        f"{'PASS' if best < args.target else 'FAIL'}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
