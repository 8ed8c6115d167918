"""A bounded request queue and one model worker thread with dynamic batching.

Requests become `Job`s. The worker takes the oldest job, then gathers queued jobs with the same batch
key (endpoint kind + size; the sampler settings are fixed per server) until the batch holds
`max_batch_images` images or the wait window since the first job was queued has passed, and runs
them as one model call. Jobs whose client went away are dropped before their batch starts. Results
go back to the event loop with `call_soon_threadsafe`; the loop is never blocked by model work.
"""

from __future__ import annotations

import asyncio
import logging
import math
import threading
import time
from collections import deque
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from typing import Any

from unclip.server.logs import event, log
from unclip.server.metrics import Metrics


@dataclass(eq=False)
class Job:
    kind: str  # "generate" | "edit" | "vary"
    key: Hashable | None  # jobs with equal keys may share a batch; None: never batched
    n: int  # images this job asks for
    payload: Any
    request_id: str = ""
    future: asyncio.Future[Any] | None = None
    loop: asyncio.AbstractEventLoop | None = None
    enqueued_at: float = field(default_factory=time.monotonic)
    cancelled: bool = False
    started: bool = False
    # streamed requests: called in the worker thread with this job's share of each progress report
    on_progress: Callable[[Any], None] | None = None


class QueueFull(Exception):
    def __init__(self, depth: int, retry_after_s: int) -> None:
        super().__init__(f"queue full ({depth} waiting)")
        self.depth = depth
        self.retry_after_s = retry_after_s


class QueueClosed(Exception):
    pass


# run_batch(jobs) -> one result per job: a value, or an Exception to raise in that job's request.
BatchRunner = Callable[[list[Job]], list[Any]]


class BatchQueue:
    def __init__(
        self,
        run_batch: BatchRunner,
        metrics: Metrics,
        max_queue: int = 32,
        max_batch_images: int = 8,
        wait_s: float = 0.025,
    ) -> None:
        self.run_batch = run_batch
        self.metrics = metrics
        self.max_queue = max_queue
        self.max_batch_images = max_batch_images
        self.wait_s = wait_s
        self._queue: deque[Job] = deque()
        self._cond = threading.Condition()
        self._closed = False
        self._running: list[Job] = []
        self._thread: threading.Thread | None = None
        self._batch_s_ema: float | None = None
        self.batches_run = 0

    # ------------------------------------------------------------------ event-loop side
    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._worker, name="unclip-model-worker", daemon=True)
            self._thread.start()

    def submit(self, job: Job) -> asyncio.Future[Any]:
        """Queue a job (from the event loop); returns the future its result will be set on."""
        job.loop = asyncio.get_running_loop()
        job.future = job.loop.create_future()
        with self._cond:
            if self._closed:
                raise QueueClosed()
            if len(self._queue) >= self.max_queue:
                self.metrics.rejected.inc()
                raise QueueFull(len(self._queue), self.retry_after_s())
            job.enqueued_at = time.monotonic()
            self._queue.append(job)
            self.metrics.queue_depth.set(len(self._queue))
            self._cond.notify_all()
        return job.future

    def cancel(self, job: Job) -> bool:
        """The client went away: drop the job if it has not started. True if it was dropped."""
        with self._cond:
            job.cancelled = True
            if job.started:
                return False
            try:
                self._queue.remove(job)
            except ValueError:
                pass  # being gathered into a batch right now: dropped before the batch starts
            self.metrics.queue_depth.set(len(self._queue))
        self.metrics.cancelled.labels("queued").inc()
        return True

    def retry_after_s(self) -> int:
        per_batch = self._batch_s_ema if self._batch_s_ema is not None else 1.0
        return max(1, min(60, math.ceil(per_batch)))

    @property
    def depth(self) -> int:
        return len(self._queue)

    @property
    def busy(self) -> int:
        """Jobs queued or running."""
        with self._cond:
            return len(self._queue) + len(self._running)

    def abort(self) -> int:
        """Shutdown deadline: stop taking jobs and answer every queued and running job with QueueClosed
        now (a running batch still finishes in the worker; its results are dropped). Returns how many."""
        with self._cond:
            self._closed = True
            jobs = list(self._queue) + [j for j in self._running if not j.cancelled]
            self._queue.clear()
            self.metrics.queue_depth.set(0)
            self._cond.notify_all()
        for job in jobs:
            _deliver(job, QueueClosed())
        return len(jobs)

    def close(self, timeout: float | None = None) -> None:
        """Stop taking jobs; the worker finishes what is queued, then exits."""
        with self._cond:
            self._closed = True
            self._cond.notify_all()
        if self._thread is not None:
            self._thread.join(timeout)

    # ------------------------------------------------------------------ worker side
    def _next_batch(self) -> list[Job] | None:
        with self._cond:
            while True:
                while self._queue and self._queue[0].cancelled:
                    self._queue.popleft()
                if self._queue:
                    break
                if self._closed:
                    return None
                self._cond.wait()
            first = self._queue.popleft()
            batch, images = [first], first.n
            deadline = first.enqueued_at + self.wait_s
            while first.key is not None and images < self.max_batch_images:
                for job in list(self._queue):
                    if job.key == first.key and not job.cancelled and images + job.n <= self.max_batch_images:
                        self._queue.remove(job)
                        batch.append(job)
                        images += job.n
                remaining = deadline - time.monotonic()
                if images >= self.max_batch_images or remaining <= 0 or self._closed:
                    break
                self._cond.wait(remaining)
            batch = [j for j in batch if not j.cancelled]
            for job in batch:
                job.started = True
            self._running = batch
            self.metrics.queue_depth.set(len(self._queue))
            return batch

    def _worker(self) -> None:
        while True:
            batch = self._next_batch()
            if batch is None:
                return
            if not batch:
                continue
            start = time.monotonic()
            for job in batch:
                self.metrics.queue_wait.observe(start - job.enqueued_at)
            try:
                results = self.run_batch(batch)
            except BaseException as e:  # noqa: BLE001 - run_batch should not raise; the worker must not die
                log.exception("batch runner failed")
                results = [e] * len(batch)
            elapsed = time.monotonic() - start
            self._batch_s_ema = (
                elapsed if self._batch_s_ema is None else 0.8 * self._batch_s_ema + 0.2 * elapsed
            )
            self.batches_run += 1
            kind = batch[0].kind
            self.metrics.batch_images.labels(kind).observe(sum(j.n for j in batch))
            self.metrics.batch_requests.labels(kind).observe(len(batch))
            self.metrics.batch_seconds.labels(kind).observe(elapsed)
            event(
                log,
                logging.DEBUG,
                "batch done",
                kind=kind,
                requests=len(batch),
                images=sum(j.n for j in batch),
                seconds=round(elapsed, 3),
                request_ids=[j.request_id for j in batch],
            )
            with self._cond:
                self._running = []
            for job, result in zip(batch, results):
                if job.cancelled:
                    self.metrics.cancelled.labels("running").inc()
                _deliver(job, result)


def _deliver(job: Job, result: Any) -> None:
    def resolve() -> None:
        fut = job.future
        if fut is None or fut.done():
            return
        if isinstance(result, BaseException):
            fut.set_exception(result)
        else:
            fut.set_result(result)

    if job.loop is None:
        return
    try:
        job.loop.call_soon_threadsafe(resolve)
    except RuntimeError:  # the event loop is closed (shutdown)
        pass
