"""The two Ray Serve deployments of `unclip serve --ray`.

`UnclipModel`: one replica per GPU (or N CPU replicas); each loads the model once and runs the server's
own `BatchQueue`, so compatible requests reaching a replica share one model call. `UnclipIngress`: the
unchanged FastAPI app (auth, validation, content policy, provenance, editor), its model work sent to the
model replicas through a handle; several ingress replicas share `url` images and limits in Redis.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from typing import Any

from fastapi import FastAPI
from ray import serve

from unclip.pipeline.partials import Progress
from unclip.server.batching import BatchQueue, QueueClosed, QueueFull
from unclip.server.distributed.remote import RemoteEngine, RemoteQueue, encode_result
from unclip.server.jobs import BatchExecutor, make_job
from unclip.server.logs import configure_logging
from unclip.server.metrics import Metrics
from unclip.server.settings import ServerSettings

REPLICA_HEADER = "x-unclip-replica"  # which ingress replica answered (for operators and tests)


@serve.deployment(name="UnclipModel")
class UnclipModel:
    def __init__(self, settings: ServerSettings) -> None:
        from unclip.server.engine import UnclipEngine

        configure_logging(settings.log_format, settings.log_level)
        self.engine = UnclipEngine.from_settings(settings)
        self.queue = BatchQueue(
            BatchExecutor(self.engine, Metrics()),
            Metrics(),
            max_queue=settings.max_queue,
            max_batch_images=settings.max_batch_images,
            wait_s=settings.batch_wait_ms / 1000,
        )
        self.queue.start()

    def info(self) -> dict[str, Any]:
        return {
            "max_size": self.engine.max_size,
            "description": self.engine.description,
            "device": str(getattr(self.engine.pipe, "device", "cpu")),
            "model_name": getattr(self.engine.pipe, "model_name", None),
            "pid": os.getpid(),
        }

    async def run(self, kind: str, work: Any, n: int, request_id: str) -> dict[str, Any]:
        job = make_job(work, n, request_id)
        try:
            future = self.queue.submit(job)
        except QueueFull as e:
            return {"busy": [e.depth, e.retry_after_s]}
        except QueueClosed as e:
            return encode_result(e)
        try:
            return encode_result(await future)
        except asyncio.CancelledError:  # the client went away: its job leaves the queue if not started
            self.queue.cancel(job)
            raise
        except Exception as e:  # noqa: BLE001 - every outcome goes back as a value
            return encode_result(e)

    async def run_streamed(
        self, kind: str, work: Any, n: int, request_id: str
    ) -> AsyncIterator[dict[str, Any]]:
        """`run` for a streamed request: yields {"progress": Progress} for every step (with the partial
        images, unchecked and unmarked: the ingress does that), then the result as `run` returns it."""
        loop = asyncio.get_running_loop()
        reports: asyncio.Queue[Progress] = asyncio.Queue()
        job = make_job(work, n, request_id)

        def hand_over(report: Progress) -> None:  # from the replica's model thread
            loop.call_soon_threadsafe(reports.put_nowait, report)

        job.on_progress = hand_over
        try:
            future = self.queue.submit(job)
        except QueueFull as e:
            yield {"busy": [e.depth, e.retry_after_s]}
            return
        except QueueClosed as e:
            yield encode_result(e)
            return
        try:
            while not (future.done() and reports.empty()):
                getter = asyncio.ensure_future(reports.get())
                await asyncio.wait({getter, future}, return_when=asyncio.FIRST_COMPLETED)
                if getter.done():
                    yield {"progress": getter.result()}
                else:
                    getter.cancel()
            try:
                yield encode_result(future.result())
            except Exception as e:  # noqa: BLE001 - every outcome goes back as a value
                yield encode_result(e)
        except (asyncio.CancelledError, GeneratorExit):  # the client went away: stop its work
            self.queue.cancel(job)
            raise

    def __del__(self) -> None:
        self.queue.close(0)


@serve.deployment(name="UnclipIngress")
@serve.ingress()
class UnclipIngress:
    async def __init__(self, settings: ServerSettings, model: Any) -> None:  # type: ignore[misc]  # Serve awaits it
        configure_logging(settings.log_format, settings.log_level)
        self.settings = settings
        self.model = model
        self.engine = RemoteEngine(await model.info.remote())
        self.replica = serve.get_replica_context().replica_id.unique_id

    def __serve_build_asgi_app__(self) -> FastAPI:
        from unclip.server.app import create_app

        app = create_app(
            self.settings,
            engine=self.engine,  # type: ignore[arg-type]
            queue_factory=lambda engine, metrics: RemoteQueue(self.model, metrics),
        )
        replica = self.replica

        @app.middleware("http")
        async def _name_replica(request: Any, call_next: Any) -> Any:
            response = await call_next(request)
            response.headers[REPLICA_HEADER] = replica
            return response

        return app
