"""One JSON log line per request, and the Prometheus metrics."""

from __future__ import annotations

import json
import logging
import time

import httpx

from unclip.server.logs import JsonFormatter

from .live import FakeEngine


def test_one_structured_log_line_per_request(make_server, caplog):
    server = make_server(FakeEngine(), policy=None, unsafe_disable_safety=True)
    caplog.set_level(logging.INFO, logger="unclip.server.access")
    ok = httpx.post(
        server.url + "/v1/images/generations", json={"prompt": "a cat", "n": 2, "size": "256x256"}
    )
    bad = httpx.post(server.url + "/v1/images/generations", json={"prompt": "a cat", "size": "1x1"})
    # The access line is written once the response has gone out, so it may land just after the client
    # has its answer: wait briefly for it.
    deadline = time.monotonic() + 5
    while True:
        lines = [r for r in caplog.records if r.name == "unclip.server.access"]
        if len(lines) >= 2 or time.monotonic() > deadline:
            break
        time.sleep(0.02)
    assert len(lines) == 2
    first = json.loads(JsonFormatter().format(lines[0]))  # what goes to stderr
    for key in ("ts", "level", "method", "path", "status", "latency_ms", "outcome", "request_id"):
        assert key in first, key
    assert (first["method"], first["path"], first["status"], first["outcome"]) == (
        "POST",
        "/v1/images/generations",
        200,
        "ok",
    )
    assert first["request_id"] == ok.headers["x-request-id"]
    assert first["n"] == 2 and first["size"] == "256x256" and first["images"] == 2
    second = lines[1].fields
    assert (second["status"], second["outcome"], second["request_id"]) == (
        400,
        "invalid_request",
        bad.headers["x-request-id"],
    )


def test_prometheus_metrics(make_server):
    server = make_server(FakeEngine(), policy=None, unsafe_disable_safety=True)
    server.client().images.generate(prompt="a cat", n=3, size="256x256")
    httpx.post(server.url + "/v1/images/generations", json={"prompt": "", "size": "256x256"})
    text = server.metrics()
    for name in (
        "unclip_requests_total",
        "unclip_request_duration_seconds_bucket",
        "unclip_queue_depth",
        "unclip_batch_images_bucket",
        "unclip_inflight_requests",
        "unclip_stored_images",
    ):
        assert name in text, name
    assert server.metric("unclip_requests_total", endpoint="/v1/images/generations", status="200") == 1
    assert server.metric("unclip_requests_total", endpoint="/v1/images/generations", status="400") == 1
    assert server.metric("unclip_request_duration_seconds_count", endpoint="/v1/images/generations") == 2
    assert server.metric("unclip_batch_images_sum", kind="generate") == 3
    assert server.metric("unclip_images_generated_total", kind="generate") == 3
    assert server.metric("unclip_queue_depth") == 0
    # image paths are one label, not one series per file
    assert 'endpoint="/images/{name}"' not in text or text.count("/images/") < 10
