"""Running the app under uvicorn, with the bind policy and a graceful SIGTERM.

SIGTERM (or Ctrl-C): stop taking new requests (they get 503, and /health says "draining"), let the
in-flight ones finish, then exit 0. `shutdown_timeout_s` bounds the whole shutdown: at that deadline
the requests still waiting get the 503 too, and uvicorn's graceful stop and the model worker get only
what is left of it. A second signal exits at once.
"""

from __future__ import annotations

import logging
import signal
import socket
import sys
import time
from types import FrameType

import uvicorn

from unclip.errors import UnclipError
from unclip.server.app import create_app
from unclip.server.connections import guarded_protocol
from unclip.server.logs import configure_logging, event, log
from unclip.server.settings import MIN_PUBLIC_KEY_CHARS, ServerSettings, is_loopback, redact_key
from unclip.server.state import ServerState

SHUTDOWN_GRACE_S = 1.0


class GracefulServer(uvicorn.Server):
    """uvicorn.Server whose first exit signal drains instead of closing the listener at once."""

    def __init__(self, config: uvicorn.Config, state: ServerState) -> None:
        super().__init__(config)
        self.state = state

    @property
    def drain_deadline(self) -> float | None:
        return self.state.drain_deadline

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        if self.drain_deadline is None:
            self.state.begin_drain()
            return
        event(log, logging.WARNING, "second signal: exiting now", signal=sig)
        self.should_exit = True
        self.force_exit = True

    def begin_drain(self) -> None:
        """Start the graceful shutdown from code (what SIGTERM does)."""
        self.handle_exit(signal.SIGTERM, None)

    async def on_tick(self, counter: int) -> bool:
        if self.drain_deadline is not None and not self.should_exit:
            idle = self.state.inflight == 0 and self.state.queue.busy == 0
            if idle or time.monotonic() >= self.drain_deadline:
                event(
                    log,
                    logging.INFO,
                    "drained; shutting down" if idle else "drain timeout; shutting down",
                    inflight=self.state.inflight,
                )
                if not idle:  # the requests still waiting get their 503 now, not a cut connection later
                    self.state.queue.abort()
                self.should_exit = True
        return await super().on_tick(counter)

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        """uvicorn's graceful stop waits `timeout_graceful_shutdown` for open connections: after a drain,
        only what is left of the one shutdown deadline (at least SHUTDOWN_GRACE_S, for the 503s
        just sent to be delivered)."""
        if self.drain_deadline is not None:
            left = self.drain_deadline - time.monotonic()
            self.config.timeout_graceful_shutdown = max(SHUTDOWN_GRACE_S, left)  # type: ignore[assignment]
        await super().shutdown(sockets)


def check_bind(settings: ServerSettings, keys: list[str]) -> None:
    """No API keys: loopback only; beyond loopback, keys long enough not to be guessed. Refuse
    anything else, before loading a model."""
    if is_loopback(settings.host):
        return
    if not keys:
        raise UnclipError(
            f"refusing to listen on {settings.host!r} without API keys: anyone who can reach it could use it. "
            "Configure keys (--api-key, UNCLIP_API_KEYS or --api-keys-file), or listen on 127.0.0.1."
        )
    short = [redact_key(k) for k in keys if len(k) < MIN_PUBLIC_KEY_CHARS]
    if short:
        raise UnclipError(
            f"refusing to listen on {settings.host!r} with API keys shorter than {MIN_PUBLIC_KEY_CHARS} characters "
            f"({', '.join(short)}): they could be guessed. Make one with: "
            "python -c \"import secrets; print('sk-' + secrets.token_urlsafe(24))\""
        )


def build_server(
    settings: ServerSettings, sock: socket.socket | None = None, **app_kwargs: object
) -> GracefulServer:
    keys = settings.all_api_keys()
    check_bind(settings, keys)
    app = create_app(settings, **app_kwargs)  # type: ignore[arg-type]
    config = uvicorn.Config(
        app,
        host=settings.host,
        port=settings.port,
        log_config=None,
        access_log=False,
        lifespan="on",
        timeout_graceful_shutdown=max(1, int(settings.shutdown_timeout_s)),
        http=guarded_protocol(settings.header_timeout_s, settings.max_connections),
    )
    return GracefulServer(config, app.state.server)


def serve(settings: ServerSettings) -> int:
    """`unclip serve`: configure logging, say how the server is exposed, run until drained."""
    keys = settings.all_api_keys()
    check_bind(settings, keys)
    configure_logging(settings.log_format, settings.log_level)
    if keys:
        event(
            log,
            logging.INFO,
            f"API keys required ({len(keys)} configured)",
            host=settings.host,
            port=settings.port,
        )
    else:
        msg = (
            f"NO API KEYS CONFIGURED: listening on loopback ({settings.host}) only; every local user and "
            "program can use this server. Set --api-key to serve other machines."
        )
        event(log, logging.WARNING, msg, host=settings.host, port=settings.port)
        print(f"unclip serve: {msg}", file=sys.stderr)
    if settings.unsafe_disable_safety:
        print("unclip serve: WARNING: CONTENT POLICY DISABLED (--unsafe-disable-safety).", file=sys.stderr)
    event(log, logging.INFO, "settings", **settings.redacted())
    server = build_server(settings)
    server.run()
    return 0
