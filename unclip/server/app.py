"""The app factory: `create_app(settings)` wires the engine, queue, store, policy, auth and routes."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

from anyio import CapacityLimiter, to_thread
from fastapi import FastAPI, Request, Response
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles

from unclip.provenance import Provenance
from unclip.server import routes
from unclip.server.auth import FailureLimiter, KeyChecker
from unclip.server.batching import BatchQueue
from unclip.server.engine import Engine, UnclipEngine
from unclip.server.errors import install_handlers
from unclip.server.guard import ContentGuard
from unclip.server.jobs import BatchExecutor
from unclip.server.logs import event, log
from unclip.server.metrics import Metrics
from unclip.server.middleware import RequestMiddleware
from unclip.server.origins import HostOriginGuard
from unclip.server.settings import ServerSettings
from unclip.server.shared import open_state
from unclip.server.state import ServerState
from unclip.version import __version__

EDITOR_DIR = Path(__file__).parent / "static"  # the browser editor: plain HTML/JS/CSS, package data
FROM_SETTINGS: Any = object()  # create_app(policy=...) default: load the policy the settings ask for


def create_app(
    settings: ServerSettings,
    engine: Engine | None = None,
    policy: Any = FROM_SETTINGS,
    queue_factory: Callable[[Engine, Metrics], Any] | None = None,
) -> FastAPI:
    """Build the app. `engine`: a loaded model (default: load `settings.model`); `policy`: an object with
    `check_prompt(text)` and `check_image(image, kind=)` returning decisions (default: `Policy.default()`,
    or none when `settings.unsafe_disable_safety`); `queue_factory(engine, metrics)`: what runs the model
    work (default: a `BatchQueue` in this process; `distributed` sends it to Ray Serve replicas)."""
    # the data folder first: a bad data_dir is named before anything else (and before minutes of model loading)
    store, limits, data_lock = open_state(settings)
    try:
        return _create_app(settings, engine, policy, queue_factory, store, limits, data_lock)
    except BaseException:
        if data_lock is not None:
            data_lock.release()
        raise


def _create_app(
    settings: ServerSettings,
    engine: Engine | None,
    policy: Any,
    queue_factory: Callable[[Engine, Metrics], Any] | None,
    store: Any,
    limits: Any,
    data_lock: Any,
) -> FastAPI:
    metrics = Metrics()
    if policy is FROM_SETTINGS:
        guard = ContentGuard.from_settings(
            settings, metrics
        )  # fails closed on a missing check, before the model
    else:
        if policy is None and not settings.unsafe_disable_safety:
            raise ValueError("policy=None disables the content policy: set unsafe_disable_safety to do that")
        guard = ContentGuard(policy, metrics, settings.waive_checks)
    provenance = server_provenance(settings)  # a bad key file is named before the model loads
    if engine is None:
        engine = UnclipEngine.from_settings(settings)
    queue = (
        queue_factory(engine, metrics)
        if queue_factory is not None
        else BatchQueue(
            BatchExecutor(engine, metrics),
            metrics,
            max_queue=settings.max_queue,
            max_batch_images=settings.max_batch_images,
            wait_s=settings.batch_wait_ms / 1000,
        )
    )
    keys = KeyChecker(
        settings.all_api_keys(), FailureLimiter(settings.auth_max_failures, settings.auth_failure_window_s)
    )
    state = ServerState(
        settings,
        engine,
        metrics,
        queue,
        store,
        guard,
        keys,
        time.time(),
        limits,
        provenance=provenance,
        data_lock=data_lock,
    )

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        state.upload_limiter = CapacityLimiter(settings.upload_workers)
        queue.start()
        janitor = asyncio.create_task(_janitor(state))
        try:
            yield
        finally:
            janitor.cancel()
            # one deadline for the whole shutdown: what is left of it after the drain (all of it without one)
            left = (
                settings.shutdown_timeout_s
                if state.drain_deadline is None
                else state.drain_deadline - time.monotonic()
            )
            await to_thread.run_sync(queue.close, max(0.0, left))
            if data_lock is not None:
                data_lock.release()

    app = FastAPI(
        title="unclip",
        version=__version__,
        description="A self-hosted, OpenAI-compatible Images API (dall-e-2) backed by an unCLIP model.",
        lifespan=lifespan,
        docs_url=None,  # FastAPI's docs pages load scripts from a CDN: not on the editor's origin (headers.py)
        redoc_url=None,
    )
    app.state.server = state
    install_handlers(app)
    app.include_router(routes.v1)
    app.include_router(routes.router)

    # the browser editor (docs/EDITOR.md): the page at /, its files under /static (revalidated on each load)
    @app.api_route("/", methods=["GET", "HEAD"], include_in_schema=False)
    async def _editor() -> FileResponse:
        return FileResponse(EDITOR_DIR / "index.html", headers={"cache-control": "no-cache"})

    app.mount("/static", _NoCacheStatic(directory=EDITOR_DIR), name="static")

    @app.exception_handler(routes.ClientGone)
    async def _client_gone(request: Request, exc: routes.ClientGone) -> Response:
        return Response(status_code=499)  # nginx's "client closed request"; nobody reads it

    app.add_middleware(  # inside RequestMiddleware: refusals are logged and counted like other answers
        HostOriginGuard,
        check_host=not state.keys.enabled,
        bound_host=settings.host,
        public_base_url=settings.public_base_url,
        allowed_hosts=settings.allowed_hosts,
        allowed_origins=settings.allowed_origins,
    )
    app.add_middleware(RequestMiddleware, server=state)
    return app


def server_provenance(settings: ServerSettings) -> Provenance:
    """The operator's signing key, or one generated on first start in <data_dir>/provenance (logged)."""
    provenance = Provenance.from_files(
        settings.signing_cert,
        settings.signing_key,
        settings.data_path() / "provenance",
        signature=settings.signature,
    )
    key = provenance.key  # loads or generates now: a bad key is a start-up error, not a failed request
    event(
        log,
        logging.INFO,
        "provenance: invisible watermark and C2PA manifests on every image",
        signed_by=key.subject,
        key=key.source,
        visible_signature=settings.signature,
    )
    return provenance


class _NoCacheStatic(StaticFiles):
    def file_response(self, *args: Any, **kwargs: Any) -> Response:
        response = super().file_response(*args, **kwargs)
        response.headers["cache-control"] = "no-cache"
        return response


async def _janitor(state: ServerState) -> None:
    """Remove expired image files now and then (expired ones are never served in between)."""
    interval = max(0.5, min(60.0, state.settings.url_ttl_s / 4))
    while True:
        await asyncio.sleep(interval)
        try:
            removed = await to_thread.run_sync(state.store.sweep)
            if removed:
                event(log, logging.DEBUG, "expired images removed", count=removed)
        except Exception:  # noqa: BLE001 - the janitor must keep running
            log.exception("image store sweep failed")
