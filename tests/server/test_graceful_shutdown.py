"""`unclip serve` as a real process: SIGTERM during a request drains (503 for new requests), the
request completes, the process exits 0; and its stderr carries one JSON line per request."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time

import httpx


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_sigterm_finishes_in_flight_requests_then_exits_0(tiny_model_dir, tmp_path):
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = {
        **os.environ,
        "UNCLIP_STAGE_SETTINGS": '{"decoder_steps": 2}',
        "UNCLIP_DATA_DIR": str(tmp_path / "data"),
        "UNCLIP_THREADS": "2",
    }
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "unclip.cli.main",
            "serve",
            "--model",
            str(tiny_model_dir),
            "--port",
            str(port),
            "--steps-preset",
            "fastest",
            "--unsafe-disable-safety",
            "--log-format",
            "json",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        deadline = time.monotonic() + 120
        while True:
            assert proc.poll() is None, proc.communicate()[1]
            try:
                if httpx.get(url + "/health", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "server did not come up"
            time.sleep(0.2)

        result: dict[str, httpx.Response] = {}

        def slow_request() -> None:
            result["r"] = httpx.post(
                url + "/v1/images/generations",
                timeout=300,
                json={"prompt": "a red apple", "size": "1024x1024", "response_format": "b64_json"},
            )

        t = threading.Thread(target=slow_request)
        t.start()
        while httpx.get(url + "/health", timeout=5).json()["busy"] < 1:
            assert t.is_alive()
            time.sleep(0.05)
        proc.send_signal(signal.SIGTERM)
        time.sleep(0.3)
        late = httpx.post(
            url + "/v1/images/generations", json={"prompt": "too late", "size": "256x256"}, timeout=30
        )
        assert late.status_code == 503
        assert late.json()["error"]["type"] == "server_error"
        assert late.json()["error"]["code"] == "server_shutting_down"
        health = httpx.get(url + "/health", timeout=5)
        assert health.status_code == 503 and health.json()["status"] == "draining"
        t.join(300)
        assert result["r"].status_code == 200 and len(result["r"].json()["data"]) == 1
        assert proc.wait(60) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
    stderr = proc.stderr.read() if proc.stderr else ""
    lines = [json.loads(line) for line in stderr.splitlines() if line.startswith("{")]
    requests = [
        x for x in lines if x.get("message") == "request" and x.get("path") == "/v1/images/generations"
    ]
    statuses = sorted(x["status"] for x in requests)
    assert statuses == [200, 503], stderr[-3000:]
    for x in requests:
        assert {"method", "path", "status", "latency_ms", "outcome", "request_id"} <= set(x)
    assert any("draining" in x.get("message", "") for x in lines)
    assert any("NO API KEYS CONFIGURED" in x.get("message", "") for x in lines)
