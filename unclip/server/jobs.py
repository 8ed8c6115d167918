"""What a queued job asks of the engine, and running a batch of them (in the model worker thread)."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, replace
from typing import Any

from PIL import Image

from unclip.cascade.progress import Stopped
from unclip.errors import InputError
from unclip.pipeline.partials import Progress
from unclip.safety.errors import ContentPolicyViolation
from unclip.server.batching import Job
from unclip.server.engine import Engine
from unclip.server.errors import APIError, from_input_error
from unclip.server.logs import event, log
from unclip.server.metrics import Metrics


@dataclass
class RunOptions:
    """A request's `seed` and, when it streams, its `partial_images` (None: not streamed)."""

    seed: int | None = None
    partial_images: int | None = None


@dataclass
class GenerateWork:
    prompt: str
    size: int
    options: RunOptions | None = None


@dataclass
class EditWork:
    image: Image.Image
    mask: Image.Image | None
    prompt: str
    size: int
    outpaint: bool = False  # fill with the model's outpainting method (the web editor's frames)
    options: RunOptions | None = None


@dataclass
class VaryWork:
    image: Image.Image
    size: int
    options: RunOptions | None = None


class Refused(Exception):
    """The pipeline's own content check refused a job (a ContentPolicyViolation raised inside it)."""

    def __init__(self, stage: str, category: str | None, score: float) -> None:
        super().__init__(f"refused at {stage}: {category}")
        self.stage = stage
        self.category = category
        self.score = score


class EngineFailure(Exception):
    """An unexpected error in the model; the request gets a 500 (details are logged, not returned)."""


class Cancelled(Exception):
    """Every client of a running batch went away: the model stopped at its next step."""


def make_job(work: GenerateWork | EditWork | VaryWork, n: int, request_id: str) -> Job:
    options = work.options or RunOptions()
    if isinstance(work, GenerateWork):
        # a seed fixes the noise of a whole model call, so a seeded request runs alone; streamed
        # requests share batches with requests asking for as many partial images
        key = None if options.seed is not None else ("generate", work.size, options.partial_images or 0)
        return Job("generate", key, n, work, request_id)
    kind = "edit" if isinstance(work, EditWork) else "vary"
    return Job(kind, None, n, work, request_id)  # one image per pipeline call: never batched


class BatchExecutor:
    """`run_batch` for `BatchQueue`: one engine call per batch, errors mapped per job."""

    def __init__(self, engine: Engine, metrics: Metrics) -> None:
        self.engine = engine
        self.metrics = metrics

    def __call__(self, jobs: list[Job]) -> list[Any]:
        try:
            return self._run(jobs)
        except Stopped:
            return [Cancelled() for _ in jobs]
        except Exception as e:  # noqa: BLE001 - mapped per job; never kills the worker
            if len(jobs) > 1:  # find the culprit: the others should not fail with it
                return [self._safe([job]) for job in jobs]
            return [self._error(e, jobs[0])]

    def _safe(self, jobs: list[Job]) -> Any:
        try:
            return self._run(jobs)[0]
        except Exception as e:  # noqa: BLE001 - mapped per job
            return self._error(e, jobs[0])

    def _run(self, jobs: list[Job]) -> list[Any]:
        kind = jobs[0].kind
        started = time.monotonic()
        run = _run_options(jobs)
        if kind == "generate":
            prompts = [job.payload.prompt for job in jobs for _ in range(job.n)]
            images = self.engine.generate(prompts, jobs[0].payload.size, **run)
            _check_count(images, len(prompts))
            out, i = [], 0
            for job in jobs:
                out.append(images[i : i + job.n])
                i += job.n
        else:
            (job,) = jobs
            w = job.payload
            if kind == "edit":
                images = self.engine.edit(
                    w.image, w.mask, w.prompt, job.n, w.size, outpaint=w.outpaint, **run
                )
            else:
                images = self.engine.vary(w.image, job.n, w.size, **run)
            _check_count(images, job.n)
            out = [images]
        count = sum(len(x) for x in out)
        self.metrics.images.labels(kind).inc(count)
        self.metrics.size_times.record(jobs[0].payload.size, count, time.monotonic() - started)
        return out

    def _error(self, e: Exception, job: Job) -> Exception:
        if isinstance(e, InputError):
            return from_input_error(str(e))
        if isinstance(e, ContentPolicyViolation):
            stage = e.decision.kind
            return Refused(
                stage if stage in ("prompt", "upload", "output") else "output",
                e.decision.category,
                float(e.decision.score or 0.0),
            )
        if isinstance(e, APIError):
            return e
        event(
            log,
            logging.ERROR,
            "model call failed",
            request_id=job.request_id,
            kind=job.kind,
            error=f"{type(e).__name__}: {e}",
        )
        log.error("model call traceback", exc_info=e)
        return EngineFailure(f"{type(e).__name__}: {e}")


def _run_options(jobs: list[Job]) -> dict[str, Any]:
    """The engine's `**run` for a batch: the seed of a seeded (lone) job; for streamed jobs a callback
    handing each job its own images of every report. Every report also checks whether any client is
    still there: when none is, the model stops (`Stopped`). Empty when nothing is asked (engines
    without these options keep working)."""
    run: dict[str, Any] = {}
    options = [job.payload.options or RunOptions() for job in jobs]
    if len(jobs) == 1 and options[0].seed is not None:
        run["seed"] = options[0].seed
    streamed = [o.partial_images for o in options if o.partial_images is not None]
    if streamed:
        run["partial_images"] = max(streamed)  # the batch key makes them equal
        run["callback"] = _fan_out(jobs)
    return run


def _fan_out(jobs: list[Job]) -> Any:
    def callback(progress: Progress) -> None:
        if all(job.cancelled for job in jobs):
            raise Stopped()
        start = 0
        for job in jobs:
            share = None if progress.images is None else progress.images[start : start + job.n]
            start += job.n
            if job.on_progress is not None and not job.cancelled:
                job.on_progress(replace(progress, images=share))

    return callback


def _check_count(images: list[Image.Image], expected: int) -> None:
    if len(images) != expected:
        raise RuntimeError(f"the model returned {len(images)} images, expected {expected}")
