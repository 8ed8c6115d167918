"""The ingress side of `--ray`: what the app's routes see instead of a local model and queue.

`RemoteQueue` has `BatchQueue`'s interface (submit, cancel, depth, busy, abort, close); each job is one
call to the model deployment, which batches compatible jobs inside each replica. A streamed job's call
is a stream of the replica's progress reports (with the partial images), then its result. A replica that dies
with a job on it answers that job 503 `model_unavailable` (Ray restarts the replica); a client that
leaves cancels its call. Results cross the process boundary as plain values (`encode_result`), since
the server's exceptions do not pickle.
"""

from __future__ import annotations

import asyncio
import logging
from types import SimpleNamespace
from typing import Any

from PIL import Image

from unclip.server.batching import Job, QueueClosed
from unclip.server.errors import APIError, rate_limited
from unclip.server.jobs import EngineFailure, Refused
from unclip.server.logs import event, log
from unclip.server.metrics import Metrics

RETRY_AFTER_S = 5


def model_unavailable() -> APIError:
    return APIError(
        503,
        "The model replica running this request stopped (it is being restarted); please retry.",
        type="server_error",
        code="model_unavailable",
        headers={"retry-after": str(RETRY_AFTER_S)},
    )


def encode_result(result: Any) -> dict[str, Any]:
    """A model replica's answer to one job, as picklable plain values."""
    if isinstance(result, list):
        return {"images": result}
    if isinstance(result, Refused):
        return {"refused": [result.stage, result.category, result.score]}
    if isinstance(result, APIError):
        return {
            "api_error": [
                result.status,
                result.message,
                result.type,
                result.param,
                result.code,
                result.headers,
            ]
        }
    if isinstance(result, QueueClosed):
        return {"closed": True}
    return {"failure": f"{type(result).__name__}: {result}"}


def decode_result(out: dict[str, Any]) -> list[Image.Image] | BaseException:
    if "images" in out:
        return list(out["images"])
    if "refused" in out:
        return Refused(*out["refused"])
    if "api_error" in out:
        status, message, type_, param, code, headers = out["api_error"]
        return APIError(status, message, type=type_, param=param, code=code, headers=headers)
    if "busy" in out:
        depth, wait = out["busy"]
        return rate_limited(
            f"Rate limit reached: the model replicas' queues are full ({depth} requests waiting). "
            f"Please try again in {wait}s.",
            wait,
        )
    if "closed" in out:
        return QueueClosed()
    return EngineFailure(out.get("failure", "model replica failure"))


class RemoteEngine:
    """What the routes ask of the engine (`max_size`, `device`), as the model deployment described it."""

    def __init__(self, info: dict[str, Any]) -> None:
        self.max_size = int(info["max_size"])
        self.description = str(info["description"])
        self.device = str(info.get("device", "cpu"))
        self.pipe = SimpleNamespace(model_name=info.get("model_name"))  # read by routes._origin (C2PA)

    def generate(self, prompts: list[str], size: int) -> list[Image.Image]:
        raise RuntimeError("the model runs in the Ray Serve model deployment; use RemoteQueue")

    edit = vary = generate  # type: ignore[assignment]


class RemoteQueue:
    """`BatchQueue`'s interface over a Ray Serve handle to the model deployment."""

    def __init__(self, handle: Any, metrics: Metrics) -> None:
        self.handle = handle
        self.metrics = metrics
        self._calls: dict[Job, Any] = {}
        self._closed = False

    def start(self) -> None:
        pass

    def submit(self, job: Job) -> asyncio.Future[Any]:
        if self._closed:
            raise QueueClosed()
        job.loop = asyncio.get_running_loop()
        job.future = job.loop.create_future()
        args = (job.kind, job.payload, job.n, job.request_id)
        if job.on_progress is not None:  # streamed: the replica's reports come back as they happen
            call = self.handle.options(stream=True).run_streamed.remote(*args)
        else:
            call = self.handle.run.remote(*args)
        self._calls[job] = call
        self.metrics.queue_depth.set(len(self._calls))
        job.loop.create_task(self._wait(job, call))
        return job.future

    @staticmethod
    async def _outcome(job: Job, call: Any) -> dict[str, Any]:
        if job.on_progress is None:
            return dict(await call)
        async for item in call:
            if "progress" not in item:
                return dict(item)
            # in a worker thread: `on_progress` may check and encode the partial images (streaming.wire)
            await asyncio.to_thread(job.on_progress, item["progress"])
        return {"failure": "the model replica's stream ended without a result"}

    async def _wait(self, job: Job, call: Any) -> None:
        try:
            result: Any = decode_result(await self._outcome(job, call))
        except asyncio.CancelledError:
            result = QueueClosed()
        except Exception as e:  # noqa: BLE001 - the replica died or could not be reached
            event(
                log,
                logging.ERROR,
                "model replica failed during a request",
                request_id=job.request_id,
                error=f"{type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}",
            )
            result = model_unavailable()
        finally:
            self._calls.pop(job, None)
            self.metrics.queue_depth.set(len(self._calls))
        if job.future is not None and not job.future.done():
            if isinstance(result, BaseException):
                job.future.set_exception(result)
            else:
                job.future.set_result(result)

    def cancel(self, job: Job) -> bool:
        job.cancelled = True
        call = self._calls.pop(job, None)
        if call is not None:
            call.cancel()
            self.metrics.cancelled.labels("queued").inc()
        return call is not None

    def retry_after_s(self) -> int:
        return RETRY_AFTER_S

    @property
    def depth(self) -> int:
        return len(self._calls)

    @property
    def busy(self) -> int:
        return len(self._calls)

    def abort(self) -> int:
        self._closed = True
        jobs = list(self._calls)
        for job in jobs:
            self.cancel(job)
            if job.future is not None and job.loop is not None:
                job.loop.call_soon_threadsafe(_fail, job.future, QueueClosed())
        return len(jobs)

    def close(self, timeout: float | None = None) -> None:
        self._closed = True


def _fail(future: asyncio.Future[Any], exc: BaseException) -> None:
    if not future.done():
        future.set_exception(exc)
