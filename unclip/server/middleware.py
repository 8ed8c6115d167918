"""One pure-ASGI middleware around every HTTP request: request id, body size limit, draining (503),
in-flight count, the per-request JSON log line and the request metrics."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import time
from typing import TYPE_CHECKING, Any

import anyio
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from unclip.server.errors import APIError, bad_image, invalid, server_error, shutting_down
from unclip.server.headers import security_headers
from unclip.server.logs import access_log, event, log

if TYPE_CHECKING:
    from unclip.server.state import ServerState

MULTIPART_ENDPOINTS = ("/v1/images/edits", "/v1/images/variations")
JSON_BODY_LIMIT = 1024 * 1024
KNOWN_ENDPOINTS = frozenset(
    {
        "/v1/images/generations",
        "/v1/images/edits",
        "/v1/images/variations",
        "/v1/models",
        "/health",
        "/metrics",
        "/openapi.json",
    }
)
DRAIN_EXEMPT = frozenset({"/health", "/metrics", "/images/{name}"})


def endpoint_label(path: str) -> str:
    if path in KNOWN_ENDPOINTS:
        return path
    if path.startswith("/images/"):
        return "/images/{name}"
    if path.startswith("/v1/models/"):
        return "/v1/models/{model}"
    return "other"


class BodyTooLarge(APIError):
    pass


def body_limit(path: str, max_upload_bytes: int) -> int:
    # image + mask, each under the upload limit, plus the text fields and multipart framing
    return 2 * max_upload_bytes + 64 * 1024 if path in MULTIPART_ENDPOINTS else JSON_BODY_LIMIT


def too_large(path: str, size: int | None, limit: int) -> BodyTooLarge:
    if path in MULTIPART_ENDPOINTS:
        err = bad_image("image")
    else:
        err = invalid(
            None,
            f"The request body is too large ({size or 'more than ' + str(limit)} bytes; "
            f"the limit is {limit} bytes).",
        )
    # close the connection: the rest of the body is never read (uvicorn would drain it otherwise)
    return BodyTooLarge(
        err.status, err.message, err.type, err.param, err.code, headers={"connection": "close"}
    )


def body_timeout(seconds: float) -> APIError:
    """A body that does not arrive in time (a stalled upload): 408, and the connection is closed."""
    return APIError(
        408,
        f"The request body did not arrive within {seconds:g} s.",
        code="request_timeout",
        headers={"connection": "close"},
    )


class RequestMiddleware:
    def __init__(self, app: ASGIApp, server: ServerState) -> None:
        self.app = app
        self.server = server
        self.headers = security_headers(server.settings.public_base_url)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        server = self.server
        request_id = "req_" + secrets.token_hex(12)
        state: dict[str, Any] = scope.setdefault("state", {})
        state["request_id"] = request_id
        path, method = scope["path"], scope["method"]
        endpoint = endpoint_label(path)
        start = time.monotonic()
        status: list[int] = []
        server.inflight += 1
        server.metrics.inflight.inc()

        async def send_wrapper(message: Message) -> None:
            if message["type"] == "http.response.start":
                status.append(message["status"])
                message.setdefault("headers", [])
                message["headers"] = list(message["headers"]) + self.headers
                MutableHeaders(scope=message).append("x-request-id", request_id)
            await send(message)

        limit = body_limit(path, server.settings.max_upload_bytes)
        received = 0
        body_deadline = start + server.settings.body_timeout_s
        body_done = False

        async def limited_receive() -> Message:
            nonlocal received, body_done
            if body_done:  # afterwards the app only waits for a disconnect, as long as its request runs
                return await receive()
            try:
                with anyio.fail_after(max(0.0, body_deadline - time.monotonic())):
                    message = await receive()
            except TimeoutError:
                raise body_timeout(server.settings.body_timeout_s) from None
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise too_large(path, None, limit)
                body_done = not message.get("more_body", False)
            return message

        try:
            declared = _content_length(scope)
            if server.draining and endpoint not in DRAIN_EXEMPT:
                await self._reply(shutting_down(), state, scope, receive, send_wrapper)
            elif declared is not None and declared > limit:
                await self._reply(too_large(path, declared, limit), state, scope, receive, send_wrapper)
            else:
                await self.app(scope, limited_receive, send_wrapper)
        except asyncio.CancelledError:  # uvicorn cut the request off (the shutdown deadline passed)
            if not status:
                with contextlib.suppress(Exception):
                    await self._reply(shutting_down(), state, scope, receive, send_wrapper)
            raise
        except Exception as e:  # noqa: BLE001 - every failure becomes an OpenAI-shaped 500
            if not status:
                if not isinstance(e, APIError):
                    log.error("unhandled error", exc_info=e, extra={"fields": {"request_id": request_id}})
                    e = server_error(request_id)
                await self._reply(e, state, scope, receive, send_wrapper)
            else:
                log.error(
                    "error after the response started",
                    exc_info=e,
                    extra={"fields": {"request_id": request_id}},
                )
        finally:
            server.inflight -= 1
            server.metrics.inflight.dec()
            latency = time.monotonic() - start
            code = status[0] if status else 500
            server.metrics.requests.labels(endpoint, str(code)).inc()
            server.metrics.latency.labels(endpoint).observe(latency)
            fields = {
                "request_id": request_id,
                "method": method,
                "path": path,
                "status": code,
                "latency_ms": round(latency * 1000, 1),
                "outcome": state.get("outcome") or _outcome(code),
                "client": (scope.get("client") or ("", 0))[0],
            }
            fields.update(state.get("log_fields") or {})
            event(access_log, logging.INFO, "request", **fields)

    @staticmethod
    async def _reply(
        err: APIError, state: dict[str, Any], scope: Scope, receive: Receive, send: Send
    ) -> None:
        state["outcome"] = err.outcome
        await err.response()(scope, receive, send)


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


def _outcome(status: int) -> str:
    if status < 400:
        return "ok"
    if status == 499:
        return "cancelled"
    return {401: "unauthorized", 429: "rate_limited", 503: "unavailable"}.get(
        status, "error" if status >= 500 else "invalid_request"
    )
