"""`stream: true`: the answer as server-sent events, in OpenAI's image streaming format.

Events (each `event: <type>` and `data: <json>`):
- `unclip.progress` (unclip's own; the `openai` client passes it through as an object of that type):
  `stage`, `step`, `total` (the stage's), `done`, `overall` (steps over the whole run), `created_at`.
- `image_generation.partial_image` / `image_edit.partial_image` (variations: `image_variation.*`, an
  unclip extension): `b64_json`, `partial_image_index`, `size`, `created_at`, `background`,
  `output_format`, `quality`, and unclip's `image_index` (which of the `n` images).
- `image_generation.completed` / `image_edit.completed`: one per image, `b64_json` and the same fields.
- `error`: `{"type": "error", "error": {OpenAI's error object}}` ends a stream that failed after it
  began (a content-policy refusal of a partial or final image, a model failure, the shutdown): no image
  follows. A refusal's error object also has unclip's `category` (e.g. "sexual"). The `openai` client
  raises it as an `openai.APIError` carrying that error object.

Every partial and final image passes the content policy's output check before it is sent, and is
marked like every returned image (watermark and C2PA manifest). Validation, the prompt and upload
checks, the key's limits and the queue's 429 all come before the stream starts, as ordinary answers.
"""

from __future__ import annotations

import asyncio
import base64
import json
import time
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

from anyio import to_thread
from fastapi import Request
from fastapi.responses import StreamingResponse
from PIL import Image

from unclip.pipeline.partials import Progress
from unclip.provenance import Origin
from unclip.server.batching import Job, QueueClosed
from unclip.server.errors import APIError, server_error, shutting_down
from unclip.server.jobs import Cancelled, EngineFailure, Refused
from unclip.server.uploads import encode_png
from unclip.server.validation import Common

if TYPE_CHECKING:
    from unclip.server.state import ServerState

PREFIXES = {"generate": "image_generation", "edit": "image_edit", "vary": "image_variation"}


def sse(data: dict[str, Any]) -> bytes:
    return f"event: {data['type']}\ndata: {json.dumps(data, separators=(',', ':'))}\n\n".encode()


def error_event(err: APIError) -> bytes:
    """OpenAI's error object; a refusal adds unclip's `category` (what the policy found), which an
    unstreamed refusal sends as the `x-unclip-refusal-category` header: a stream has sent its headers."""
    body = err.body()
    refusal = getattr(err, "refusal", None)
    if refusal is not None:
        body["error"]["category"] = refusal["category"]
    return sse({"type": "error", **body})


# A partial image is a preview, replaced within seconds: encoded fast (zlib level 1: ~5 ms instead of
# ~27 ms at 256 px, ~15% larger), still marked and signed like every image. Final images: Pillow's default.
PARTIAL_COMPRESS_LEVEL = 1
FINAL_COMPRESS_LEVEL = 6


def _png(s: ServerState, image: Image.Image, common: Common, origin: Origin, level: int) -> str:
    if image.size != (common.size, common.size):  # never send the wrong size
        image = image.resize((common.size, common.size), Image.Resampling.LANCZOS)
    png = s.provenance.png(image, origin, level) if s.provenance is not None else encode_png(image, level)
    return base64.b64encode(png).decode("ascii")


def _seen(future: asyncio.Future[Any]) -> None:
    if not future.cancelled():
        future.exception()


class ImageStream:
    """One streamed request: its job (already queued) and what the worker reports for it."""

    def __init__(
        self,
        request: Request,
        s: ServerState,
        job: Job,
        future: asyncio.Future[Any],
        reports: asyncio.Queue[Report],
        common: Common,
        origin: Origin,
    ) -> None:
        self.request, self.s, self.job, self.future = request, s, job, future
        self.common, self.origin = common, origin
        self.prefix = PREFIXES[job.kind]
        self.request_id = str(request.state.request_id)
        self.reports = reports
        # a client that left never reads the result: mark its exception seen (no "never retrieved" noise)
        future.add_done_callback(_seen)

    def fields(self) -> dict[str, Any]:
        return {
            "created_at": int(time.time()),
            "size": self.common.size_label,
            "background": "opaque",
            "output_format": "png",
            "quality": "standard",
        }

    async def events(self) -> AsyncIterator[bytes]:
        try:
            while True:
                if self.reports.empty() and self.future.done():
                    break
                if self.reports.empty():
                    waiter = asyncio.ensure_future(self.reports.get())
                    done, _ = await asyncio.wait({waiter, self.future}, return_when=asyncio.FIRST_COMPLETED)
                    if waiter not in done:
                        waiter.cancel()
                        continue
                    report = waiter.result()
                else:
                    report = self.reports.get_nowait()
                async for chunk in self._report(report):
                    yield chunk
            async for chunk in self._finish():
                yield chunk
        finally:
            if not self.future.done():  # the client left (or the stream ended early): stop its work
                self.s.queue.cancel(self.job)
                self.request.state.outcome = "cancelled"

    async def _report(self, item: Report) -> AsyncIterator[bytes]:
        report, ready = item
        yield sse(
            {
                "type": "unclip.progress",
                "stage": report.stage,
                "step": report.step,
                "total": report.total,
                "done": report.done,
                "overall": report.overall,
                "created_at": int(time.time()),
            }
        )
        if report.images is None:
            return
        if ready is None:  # not prepared in the model's thread: here, in a worker thread
            ready = await to_thread.run_sync(
                prepare, self.s, report.images, self.common, self.origin, self.job
            )
        if isinstance(ready, APIError):  # refused: never shown, the stream ends here
            self._refused(ready)
            yield error_event(ready)
            raise StopStream()
        for i, b64 in enumerate(ready):
            yield sse(
                {
                    "type": f"{self.prefix}.partial_image",
                    "b64_json": b64,
                    "partial_image_index": report.partial_index,
                    "image_index": i,
                    **self.fields(),
                }
            )

    async def _finish(self) -> AsyncIterator[bytes]:
        try:
            images: list[Image.Image] = self.future.result()
        except Refused as e:
            err = self.s.guard.refusal(e.stage, e.category, e.score, self.request_id)
            self._refused(err)
            yield error_event(err)
            return
        except (EngineFailure, Cancelled):
            yield error_event(server_error(self.request_id))
            return
        except (QueueClosed, APIError) as e:
            yield error_event(e if isinstance(e, APIError) else shutting_down())
            return
        refusal = await to_thread.run_sync(self.s.guard.check_outputs, images, self.request_id)
        if refusal is not None:
            self._refused(refusal)
            yield error_event(refusal)
            return
        for i, image in enumerate(images):
            b64 = await to_thread.run_sync(
                _png, self.s, image, self.common, self.origin, FINAL_COMPRESS_LEVEL
            )
            yield sse(
                {"type": f"{self.prefix}.completed", "b64_json": b64, "image_index": i, **self.fields()}
            )
        key = getattr(self.request.state, "api_key", None)
        await to_thread.run_sync(self.s.limits.record, key, self.common.user, len(images))
        self.request.scope.setdefault("state", {}).setdefault("log_fields", {}).update(images=len(images))

    def _refused(self, err: APIError) -> None:
        self.request.state.outcome = "refused"
        fields = self.request.scope.setdefault("state", {}).setdefault("log_fields", {})
        fields.update(refusal=getattr(err, "refusal", None))


class StopStream(Exception):
    pass


def respond(
    request: Request,
    s: ServerState,
    job: Job,
    future: asyncio.Future[Any],
    reports: asyncio.Queue[Report],
    common: Common,
    origin: Origin,
) -> StreamingResponse:
    """The streamed answer of a job queued after `wire(job)` gave it `reports`."""
    stream = ImageStream(request, s, job, future, reports, common, origin)

    async def body() -> AsyncIterator[bytes]:
        try:
            async for chunk in stream.events():
                yield chunk
        except StopStream:
            return

    return StreamingResponse(
        body(),
        media_type="text/event-stream",
        headers={"cache-control": "no-cache", "x-accel-buffering": "no"},
    )


# A progress report, and its partial images already checked and encoded (or the refusal), when that was
# done in the model's thread; None: not yet.
Ready = list[str] | APIError
Report = tuple[Progress, Ready | None]


def prepare(s: ServerState, images: list[Image.Image], common: Common, origin: Origin, job: Job) -> Ready:
    """A report's partial images through the output check, then marked and encoded (base64 PNGs)."""
    refusal = s.guard.check_outputs(images, job.request_id)
    if refusal is not None:
        return refusal
    return [_png(s, image, common, origin, PARTIAL_COMPRESS_LEVEL) for image in images]


def wire(job: Job, s: ServerState, common: Common, origin: Origin) -> asyncio.Queue[Report]:
    """Give `job` an `on_progress` that hands its reports (from the worker thread) to the event loop.

    With the model on the CPU, partial images are checked and encoded right there, in the model's thread
    between two steps: the cores are the model's, and the same work in another thread competes with the
    model's threads for them (2 cores, 256 px: about +45 ms per partial that way, +18 ms in line).
    With the model on a GPU, the event loop's worker threads do it while the model runs on."""
    loop = asyncio.get_running_loop()
    reports: asyncio.Queue[Report] = asyncio.Queue()
    in_line = str(getattr(s.engine, "device", "cpu")).startswith("cpu")

    def hand_over(report: Progress) -> None:
        ready = None
        if in_line and report.images is not None:
            try:
                ready = prepare(s, report.images, common, origin, job)
            except Exception:  # noqa: BLE001 - never fail the batch: the stream tries again, and fails alone
                ready = None
        loop.call_soon_threadsafe(reports.put_nowait, (report, ready))

    job.on_progress = hand_over
    return reports
