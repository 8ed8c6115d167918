"""Throughput and latency of `unclip serve --ray` with 1 and 2 model replicas on this machine.

    python benchmarks/ray_serve.py                          # embedded default model, 256 px, 1 step per stage
    python benchmarks/ray_serve.py --steps-preset fast --seconds 60 --clients 16
    python benchmarks/ray_serve.py --replicas 1 2 4 --replica-gpus 1    # on a machine with 4 GPUs

Starts a local one-node Ray cluster (its files in a temporary folder), then for each replica count runs
`unclip serve --ray` on it and C concurrent `openai` clients for S seconds (generations, b64_json,
256x256), and prints requests/s, images/s and p50/p95 latency. Loopback only; exits 1 on any non-200.
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import openai

KEY = "sk-bench-0123456789abcdef"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_driver(
    address: str, port: int, replicas: int, args: argparse.Namespace, log: Path
) -> subprocess.Popen:
    cmd = [
        sys.executable,
        "-m",
        "unclip.cli.main",
        "serve",
        "--ray",
        address,
        "--port",
        str(port),
        "--api-key",
        KEY,
        "--model-replicas",
        str(replicas),
        "--replica-cpus",
        str(args.replica_cpus),
        "--steps-preset",
        args.steps_preset,
        "--default-size",
        "256x256",
        "--unsafe-disable-safety",
        "--log-format",
        "text",
        "--data-dir",
        str(log.parent / f"data{replicas}"),
    ]
    if args.threads:
        cmd += ["--threads", str(args.threads)]
    if args.replica_gpus is not None:
        cmd += ["--replica-gpus", str(args.replica_gpus)]
    if args.model:
        cmd += ["--model", args.model]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=open(log, "w"))  # noqa: SIM115
    deadline = time.monotonic() + 600
    while "unclip serve: serving on Ray" not in log.read_text():
        if proc.poll() is not None or time.monotonic() > deadline:
            raise SystemExit(f"unclip serve --ray did not start:\n{log.read_text()[-2000:]}")
        time.sleep(0.5)
    return proc


def run_load(url: str, clients: int, seconds: float, n: int) -> tuple[list[float], int]:
    latencies: list[float] = []
    failures = 0
    lock = threading.Lock()
    stop = time.monotonic() + seconds

    def client(k: int) -> None:
        nonlocal failures
        c = openai.OpenAI(base_url=url + "/v1", api_key=KEY, max_retries=0, timeout=600)
        i = 0
        while time.monotonic() < stop:
            t = time.monotonic()
            try:
                out = c.images.generate(
                    prompt=f"client {k} image {i}", n=n, size="256x256", response_format="b64_json"
                )
                ok = len(out.data) == n
            except openai.APIError:
                ok = False
            with lock:
                if ok:
                    latencies.append(time.monotonic() - t)
                else:
                    failures += 1
            i += 1

    threads = [threading.Thread(target=client, args=(k,)) for k in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return latencies, failures


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--replicas", type=int, nargs="+", default=[1, 2])
    p.add_argument("--clients", type=int, default=8)
    p.add_argument("--seconds", type=float, default=30)
    p.add_argument("--warmup", type=float, default=5, help="seconds of load before measuring")
    p.add_argument("--n", type=int, default=1, help="images per request")
    p.add_argument("--model", default=None, help="model directory (default: the embedded default model)")
    p.add_argument("--steps-preset", default="fastest", choices=("model", "fast", "fastest"))
    p.add_argument("--cpus", type=int, default=os.cpu_count() or 2, help="CPUs of the local Ray node")
    p.add_argument("--replica-cpus", type=float, default=1.0)
    p.add_argument("--replica-gpus", type=float, default=None)
    p.add_argument(
        "--threads", type=int, default=1, help="torch threads per model replica (0: torch's default)"
    )
    args = p.parse_args()

    from ray.cluster_utils import Cluster

    tmp = Path(tempfile.mkdtemp(prefix="ub-"))
    (tmp / "ray").mkdir()
    os.environ["RAY_TMPDIR"] = str(tmp)
    os.environ["RAY_USAGE_STATS_ENABLED"] = "0"
    cluster = Cluster(
        initialize_head=True,
        head_node_args={
            "num_cpus": args.cpus,
            "include_dashboard": False,
            "temp_dir": str(tmp),
            "gcs_server_port": free_port(),
        },
    )
    port, bad = free_port(), 0
    print(
        f"{'replicas':>8} {'clients':>7} {'requests':>8} {'req/s':>7} {'images/s':>8}"
        f" {'p50 s':>7} {'p95 s':>7} {'failed':>6}"
    )
    try:
        for replicas in args.replicas:
            proc = start_driver(cluster.address, port, replicas, args, tmp / f"serve{replicas}.log")
            try:
                url = f"http://127.0.0.1:{port}"
                run_load(url, args.clients, args.warmup, args.n)
                lat, failed = run_load(url, args.clients, args.seconds, args.n)
            finally:
                proc.terminate()
                proc.wait(120)
            bad += failed
            lat.sort()
            p95 = lat[min(len(lat) - 1, int(0.95 * len(lat)))] if lat else float("nan")
            print(
                f"{replicas:>8} {args.clients:>7} {len(lat):>8} {len(lat) / args.seconds:>7.2f} "
                f"{len(lat) * args.n / args.seconds:>8.2f} {statistics.median(lat) if lat else float('nan'):>7.2f} "
                f"{p95:>7.2f} {failed:>6}",
                flush=True,
            )
    finally:
        cluster.shutdown()
        shutil.rmtree(tmp, ignore_errors=True)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
