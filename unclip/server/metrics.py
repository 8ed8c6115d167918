"""Prometheus metrics, in a registry of their own per app (so several apps can live in one process)."""

from __future__ import annotations

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)

from unclip.server.timing import SizeTimes

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 40, 60, 120, 300)
BATCH_BUCKETS = (1, 2, 3, 4, 6, 8, 12, 16, 24, 32, 64)


class Metrics:
    def __init__(self) -> None:
        r = self.registry = CollectorRegistry()
        self.requests = Counter(
            "unclip_requests", "HTTP requests by endpoint and status", ["endpoint", "status"], registry=r
        )
        self.latency = Histogram(
            "unclip_request_duration_seconds",
            "HTTP request latency",
            ["endpoint"],
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.inflight = Gauge("unclip_inflight_requests", "HTTP requests being handled", registry=r)
        self.queue_depth = Gauge("unclip_queue_depth", "requests waiting for the model", registry=r)
        self.batch_images = Histogram(
            "unclip_batch_images", "images per model batch", ["kind"], buckets=BATCH_BUCKETS, registry=r
        )
        self.batch_requests = Histogram(
            "unclip_batch_requests", "requests per model batch", ["kind"], buckets=BATCH_BUCKETS, registry=r
        )
        self.batch_seconds = Histogram(
            "unclip_batch_duration_seconds",
            "model time per batch",
            ["kind"],
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.queue_wait = Histogram(
            "unclip_queue_wait_seconds",
            "time from enqueue to batch start",
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.images = Counter("unclip_images_generated", "images produced by the model", ["kind"], registry=r)
        self.cancelled = Counter(
            "unclip_jobs_cancelled", "jobs dropped because their client disconnected", ["when"], registry=r
        )
        self.rejected = Counter(
            "unclip_queue_rejections", "requests answered 429 because the queue was full", registry=r
        )
        self.refusals = Counter(
            "unclip_refusals", "content policy refusals", ["stage", "category"], registry=r
        )
        self.stored_files = Gauge("unclip_stored_images", "PNG files kept for url results", registry=r)
        self.stored_bytes = Gauge(
            "unclip_stored_bytes", "bytes of PNG files kept for url results", registry=r
        )
        self.size_times = SizeTimes()  # model seconds per image by size, for /health and the editor

    def render(self) -> tuple[bytes, str]:
        return generate_latest(self.registry), CONTENT_TYPE_LATEST
