"""A real local Ray cluster of two nodes (head and worker, on loopback) and `unclip serve --ray` on it."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import pytest

from .redis_server import free_port

MODEL_REPLICA_TITLE = b"ray::ServeReplica:unclip:UnclipModel"


class TwoNodeCluster:
    def __init__(self) -> None:
        pytest.importorskip(
            "ray.serve", reason="Ray Serve is not installed: pip install -e '.[dev]' (or '.[ray]')"
        )
        from ray.cluster_utils import Cluster

        # Ray Serve's proxy prefers ingress replicas on its own node; with both nodes on one machine, let it
        # spread requests over both, so that a URL made by one ingress replica is fetched through the other.
        os.environ["RAY_SERVE_PROXY_PREFER_LOCAL_NODE_ROUTING"] = "0"
        os.environ["RAY_USAGE_STATS_ENABLED"] = "0"
        # Ray's own files (and its address file) in a folder of this test; short, for Ray's socket paths
        self.tmp = Path(tempfile.mkdtemp(prefix="ur-"))
        (self.tmp / "ray").mkdir()
        os.environ["RAY_TMPDIR"] = str(self.tmp)
        tmp = self.tmp
        self.cluster = Cluster(
            initialize_head=True,
            head_node_args={
                "num_cpus": 2,
                "include_dashboard": False,
                "temp_dir": str(tmp),
                "gcs_server_port": free_port(),
            },
        )
        self.cluster.add_node(num_cpus=2)
        self.cluster.wait_for_nodes()
        self.address = self.cluster.address

    def shutdown(self) -> None:
        self.cluster.shutdown()
        shutil.rmtree(self.tmp, ignore_errors=True)


class RayServe:
    """`unclip serve --ray ADDRESS ...` in a subprocess (the driver), answering on a loopback port."""

    def __init__(self, address: str, args: list[str], log: Path, port: int | None = None) -> None:
        self.port = port or free_port()  # Serve's HTTP port is set by its first start on a cluster
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = log
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "unclip.cli.main",
                "serve",
                "--ray",
                address,
                "--port",
                str(self.port),
                "--ray-proxy",
                "HeadOnly",
                "--log-format",
                "text",
                *args,
            ],
            stdout=subprocess.DEVNULL,
            stderr=open(log, "w"),  # noqa: SIM115 (the process outlives this call)
            env=os.environ,
        )
        deadline = time.monotonic() + 240
        while True:
            try:  # deployed (the driver says so) and answering
                if (
                    "unclip serve: serving on Ray" in log.read_text()
                    and httpx.get(self.url + "/health", timeout=5).status_code == 200
                ):
                    break
            except httpx.HTTPError:
                pass
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"unclip serve --ray did not start:\n{log.read_text()[-3000:]}")
            time.sleep(0.5)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def model_replica_pids() -> list[int]:
    """Processes of the model deployment's replicas (Ray names a replica's process by its deployment)."""
    pids = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                if Path(f"/proc/{entry}/cmdline").read_bytes().startswith(MODEL_REPLICA_TITLE):
                    pids.append(int(entry))
            except OSError:
                continue
    return sorted(pids)
