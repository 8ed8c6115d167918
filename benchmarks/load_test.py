"""Load test for `unclip serve`: N concurrent clients for D seconds, with and without dynamic batching.

    python benchmarks/load_test.py                         # tiny random model, 32 clients, 60 s, both modes
    python benchmarks/load_test.py --duration 15           # a quick run
    python benchmarks/load_test.py --model DIR --steps-preset fast
    python benchmarks/load_test.py --url http://127.0.0.1:8000 --key sk-...   # an already running server

Each client loops: POST /v1/images/generations (b64_json), checks that a 200 holds exactly n PNGs of
the requested size, counts 429s (waiting `retry-after`) and documented content-policy refusals (400
content_policy_violation: the policy checks every generated image), and anything else as a failure. The server runs
as a subprocess (unless --url) whose RSS is sampled throughout. Only loopback addresses are used.
Exits 1 on any 5xx or invalid response.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import io
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from PIL import Image

PROMPTS = [
    "a red apple",
    "a blue car",
    "a cat sitting on a mat",
    "a boat on the sea at sunset",
    "a bowl of soup",
]


@dataclass
class Tally:
    ok: int = 0
    images: int = 0
    rate_limited: int = 0
    refused: int = (
        0  # 400 content_policy_violation: a documented answer (a generated image refused by the policy)
    )
    server_errors: int = 0
    invalid: int = 0
    transport_errors: int = 0
    latencies: list[float] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


def valid_png(b64: str, size: int) -> bool:
    try:
        image = Image.open(io.BytesIO(base64.b64decode(b64)))
        image.load()
    except Exception:  # noqa: BLE001 - any decoding failure is an invalid response
        return False
    return image.format == "PNG" and image.size == (size, size)


def _error_code(r: httpx.Response) -> str | None:
    try:
        return r.json().get("error", {}).get("code")
    except ValueError:
        return None


async def client_loop(
    http: httpx.AsyncClient, deadline: float, size: int, n: int, tally: Tally, index: int
) -> None:
    i = 0
    while time.monotonic() < deadline:
        body = {
            "prompt": PROMPTS[(index + i) % len(PROMPTS)],
            "n": n,
            "size": f"{size}x{size}",
            "response_format": "b64_json",
        }
        i += 1
        start = time.monotonic()
        try:
            r = await http.post("/v1/images/generations", json=body, timeout=max(1.0, deadline - start + 120))
        except httpx.TransportError as e:
            tally.transport_errors += 1
            tally.problems.append(f"transport: {type(e).__name__}")
            await asyncio.sleep(0.5)
            continue
        if r.status_code == 200:
            data = r.json().get("data", [])
            if len(data) == n and all(valid_png(d.get("b64_json", ""), size) for d in data):
                tally.ok += 1
                tally.images += n
                tally.latencies.append(time.monotonic() - start)
            else:
                tally.invalid += 1
                tally.problems.append("200 with a wrong body")
        elif r.status_code == 429:
            tally.rate_limited += 1
            ok = r.json().get("error", {}).get("code") == "rate_limit_exceeded" and "retry-after" in r.headers
            if not ok:
                tally.invalid += 1
                tally.problems.append("429 without OpenAI body or retry-after")
            await asyncio.sleep(
                min(float(r.headers.get("retry-after", 1)), max(0.0, deadline - time.monotonic()))
            )
        elif r.status_code == 400 and _error_code(r) == "content_policy_violation":
            tally.refused += 1
            tally.problems.append(f"refused by the content policy: {body['prompt']!r}")
        elif r.status_code >= 500:
            tally.server_errors += 1
            tally.problems.append(f"{r.status_code}: {r.text[:200]}")
        else:
            tally.invalid += 1
            tally.problems.append(f"{r.status_code}: {r.text[:200]}")


async def run_load(
    url: str, key: str, clients: int, duration: float, size: int, n: int
) -> tuple[Tally, float]:
    tally = Tally()
    limits = httpx.Limits(max_connections=clients + 4, max_keepalive_connections=clients + 4)
    headers = {"authorization": f"Bearer {key}"}
    async with httpx.AsyncClient(base_url=url, limits=limits, headers=headers) as http:
        start = time.monotonic()
        deadline = start + duration
        await asyncio.gather(*(client_loop(http, deadline, size, n, tally, i) for i in range(clients)))
        return tally, time.monotonic() - start


def rss_mb(pid: int) -> float | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


class RssSampler(threading.Thread):
    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.pid = pid
        self.samples: list[float] = []
        self.stop_event = threading.Event()

    def run(self) -> None:
        while not self.stop_event.is_set():
            value = rss_mb(self.pid)
            if value is not None:
                self.samples.append(value)
            self.stop_event.wait(0.25)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_until_healthy(proc: subprocess.Popen, port: int, log_name: str, timeout_s: float) -> str:
    """The server's base URL once its /health answers 200; a clear exit if it dies or never does."""
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"server exited with {proc.returncode}; see {log_name}")
        try:
            if httpx.get(url + "/health", timeout=1).status_code == 200:
                return url
        except httpx.TransportError:
            pass
        time.sleep(0.25)
    proc.kill()
    raise SystemExit(f"server did not start within {timeout_s:.0f} s")


def start_server(
    args: argparse.Namespace, model_dir: str, data_dir: str, batching: bool
) -> tuple[subprocess.Popen, str]:
    port = free_port()
    cmd = [
        sys.executable,
        "-m",
        "unclip.cli.main",
        "serve",
        "--model",
        model_dir,
        "--port",
        str(port),
        "--data-dir",
        data_dir,
        "--steps-preset",
        args.steps_preset,
        "--max-queue",
        str(args.max_queue),
        "--log-level",
        "warning",
        "--device",
        args.device,
        "--waive-check",
        "nudity",  # the nudity detector is optional (AGPL-3.0 licence file); it runs if installed
    ]
    if args.threads:
        cmd += ["--threads", str(args.threads)]
    cmd += (
        ["--max-batch-images", str(args.max_batch), "--batch-wait-ms", str(args.batch_wait_ms)]
        if batching
        else ["--max-batch-images", "1", "--batch-wait-ms", "0"]
    )
    if args.no_safety:
        cmd.append("--unsafe-disable-safety")
    log = open(Path(data_dir) / "server.log", "w")  # noqa: SIM115 - closed with the process
    proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT)
    return proc, wait_until_healthy(proc, port, log.name, 180)


def batch_stats(url: str) -> tuple[float, float]:
    """(model batches, mean images per batch) from /metrics."""
    count = total = 0.0
    for line in httpx.get(url + "/metrics", timeout=10).text.splitlines():
        if line.startswith('unclip_batch_images_count{kind="generate"}'):
            count = float(line.split()[-1])
        if line.startswith('unclip_batch_images_sum{kind="generate"}'):
            total = float(line.split()[-1])
    return count, (total / count if count else 0.0)


def report(name: str, tally: Tally, elapsed: float, rss: list[float], batches: tuple[float, float]) -> None:
    lat = sorted(tally.latencies)
    p = lambda q: lat[min(len(lat) - 1, int(q * len(lat)))] if lat else float("nan")
    print(f"\n== {name}")
    print(
        f"  requests ok {tally.ok}, images {tally.images}, 429s {tally.rate_limited}, "
        f"policy refusals {tally.refused}, 5xx {tally.server_errors}, "
        f"invalid {tally.invalid}, transport errors {tally.transport_errors}"
    )
    print(
        f"  throughput {tally.images / elapsed:.2f} images/s, {tally.ok / elapsed:.2f} requests/s over {elapsed:.1f} s"
    )
    if lat:
        print(
            f"  latency p50 {p(0.5):.2f} s, p95 {p(0.95):.2f} s, max {lat[-1]:.2f} s, "
            f"mean {statistics.mean(lat):.2f} s"
        )
    if batches[0]:
        print(f"  model batches {batches[0]:.0f}, mean images per batch {batches[1]:.2f}")
    if rss:
        print(f"  server RSS start {rss[0]:.0f} MB, peak {max(rss):.0f} MB, end {rss[-1]:.0f} MB")
    for problem in sorted(set(tally.problems))[:5]:
        print(f"  ! {problem}")


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--url", help="load an already running server instead of starting one")
    p.add_argument("--key", default="sk-load-test", help="API key to send")
    p.add_argument("--model", help="model directory (default: a tiny random cascade built here)")
    p.add_argument("--clients", type=int, default=32)
    p.add_argument("--duration", type=float, default=60.0, help="seconds per mode")
    p.add_argument("--size", type=int, default=256, choices=(256, 512, 1024))
    p.add_argument("-n", type=int, default=1, help="images per request")
    p.add_argument("--mode", choices=("both", "batching", "no-batching"), default="both")
    p.add_argument("--max-batch", type=int, default=8)
    p.add_argument("--batch-wait-ms", type=float, default=25.0)
    p.add_argument("--max-queue", type=int, default=32)
    p.add_argument("--steps-preset", default="fastest", choices=("model", "fast", "fastest"))
    p.add_argument("--device", default="cpu")
    p.add_argument("--threads", type=int, default=None, help="torch threads in the server")
    p.add_argument("--no-safety", action="store_true", help="start the server with --unsafe-disable-safety")
    args = p.parse_args()

    if args.url:
        host = httpx.URL(args.url).host
        if host not in ("127.0.0.1", "localhost", "::1") and not host.startswith("127."):
            raise SystemExit("load tests only target loopback addresses")
        tally, elapsed = asyncio.run(
            run_load(args.url, args.key, args.clients, args.duration, args.size, args.n)
        )
        report(args.url, tally, elapsed, [], batch_stats(args.url))
        return 1 if tally.server_errors or tally.invalid else 0

    failed = False
    with tempfile.TemporaryDirectory(prefix="unclip-load-") as tmp:
        model_dir = args.model
        if model_dir is None:
            from unclip.cascade.model_dir import save_cascade
            from unclip.cascade.presets import build_cascade

            model_dir = os.path.join(tmp, "tiny")
            save_cascade(build_cascade("tiny", inpainting=True), model_dir)
        modes = {"both": [True, False], "batching": [True], "no-batching": [False]}[args.mode]
        results = {}
        for batching in modes:
            name = (
                f"dynamic batching (max {args.max_batch} images, {args.batch_wait_ms:g} ms window)"
                if batching
                else "no batching (max 1 image per model call)"
            )
            data_dir = tempfile.mkdtemp(dir=tmp)
            proc, url = start_server(args, model_dir, data_dir, batching)
            sampler = RssSampler(proc.pid)
            sampler.start()
            try:
                tally, elapsed = asyncio.run(
                    run_load(url, args.key, args.clients, args.duration, args.size, args.n)
                )
                batches = batch_stats(url)
            finally:
                sampler.stop_event.set()
                sampler.join()
                proc.terminate()
                try:
                    proc.wait(60)
                except subprocess.TimeoutExpired:
                    proc.kill()
            report(name, tally, elapsed, sampler.samples, batches)
            results[batching] = tally.images / elapsed
            failed |= bool(tally.server_errors or tally.invalid or tally.transport_errors)
            if proc.returncode != 0:
                print(f"  ! server exited with {proc.returncode} after SIGTERM")
                failed = True
        if len(results) == 2 and results[False]:
            print(f"\nbatching speed-up: {results[True] / results[False]:.2f}x images/s")
    print(
        "\nRESULT:",
        "FAIL (5xx, invalid or transport errors)" if failed else "ok (no 5xx, every response valid or 429)",
    )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
