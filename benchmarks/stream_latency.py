"""Streaming's latency: time to the first partial image, and what streaming adds to the total time.

Starts `unclip serve` (the embedded default model unless --model; loopback only), then alternates the
same seeded request unstreamed (one JSON answer) and streamed (`stream: true`, `partial_images`),
and prints the medians: total time of each, time to the first event and to the first partial image,
and streaming's overhead in percent (the issue's target: at most 10% at 256 px with 2 partials).

    python benchmarks/stream_latency.py                       # default model, 256 px, 2 partials, 3 rounds
    python benchmarks/stream_latency.py --model DIR --rounds 5 --partial-images 3
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from load_test import free_port, wait_until_healthy  # the sibling benchmark's helpers


def start(args: argparse.Namespace, data_dir: str) -> tuple[subprocess.Popen, str]:
    port = free_port()
    cmd = [sys.executable, "-m", "unclip.cli.main", "serve", "--port", str(port), "--data-dir", data_dir]
    cmd += ["--steps-preset", args.steps_preset, "--log-level", "warning", "--device", args.device]
    cmd += ["--waive-check", "nudity", "--default-size", "256x256"]
    if args.model:
        cmd += ["--model", args.model]
    log = open(Path(data_dir) / "server.log", "w")  # noqa: SIM115 - closed with the process
    proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT)
    return proc, wait_until_healthy(proc, port, log.name, 300)


def plain(url: str, body: dict) -> float:
    start = time.perf_counter()
    r = httpx.post(url + "/v1/images/generations", json={**body, "response_format": "b64_json"}, timeout=900)
    r.raise_for_status()
    return time.perf_counter() - start


def streamed(url: str, body: dict, partials: int) -> tuple[float, float, float | None]:
    """(total, first event, first partial image) in seconds."""
    start = time.perf_counter()
    first_event = first_partial = None
    with httpx.stream(
        "POST",
        url + "/v1/images/generations",
        json={**body, "stream": True, "partial_images": partials},
        timeout=900,
    ) as r:
        r.raise_for_status()
        for line in r.iter_lines():
            if not line.startswith("data: "):
                continue
            now = time.perf_counter() - start
            first_event = first_event if first_event is not None else now
            kind = json.loads(line[6:])["type"]
            if kind.endswith("partial_image") and first_partial is None:
                first_partial = now
            if kind == "error":
                raise SystemExit(f"the stream failed: {line}")
    return time.perf_counter() - start, first_event or 0.0, first_partial


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", help="model directory (default: the embedded default model)")
    p.add_argument("--size", default="256x256", choices=("256x256", "512x512", "1024x1024"))
    p.add_argument("--partial-images", type=int, default=2)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--steps-preset", default="model", choices=("model", "fast", "fastest"))
    p.add_argument("--device", default="cpu")
    args = p.parse_args()
    body = {"prompt": "a red apple", "size": args.size, "seed": 42}
    with tempfile.TemporaryDirectory(prefix="unclip-stream-") as tmp:
        proc, url = start(args, tmp)
        try:
            plain(url, body)  # warm-up: lazy model loading, first-call allocations
            totals, stream_totals, firsts, partials = [], [], [], []
            for i in range(args.rounds):
                totals.append(plain(url, body))
                total, first, partial = streamed(url, body, args.partial_images)
                stream_totals.append(total)
                firsts.append(first)
                if partial is not None:
                    partials.append(partial)
                print(
                    f"round {i + 1}: plain {totals[-1]:.2f} s, streamed {total:.2f} s, first partial {partial}"
                )
        finally:
            proc.terminate()
            proc.wait(60)
    plain_s, stream_s = statistics.median(totals), statistics.median(stream_totals)
    print(
        f"size {args.size}, {args.partial_images} partial images, steps preset {args.steps_preset}, "
        f"{args.rounds} rounds (medians)"
    )
    print(f"unstreamed total:          {plain_s:.2f} s")
    print(f"streamed total:            {stream_s:.2f} s")
    print(f"time to first event:       {statistics.median(firsts):.2f} s")
    if partials:
        print(f"time to first partial:     {statistics.median(partials):.2f} s")
    print(
        f"streaming adds:            {stream_s - plain_s:+.2f} s ({100 * (stream_s - plain_s) / plain_s:+.1f}%)"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
