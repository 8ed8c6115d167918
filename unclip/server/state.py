"""`ServerState`: what every request handler and the middleware share (settings, engine, queue, store,
policy guard, keys, and the drain state). Its own module so that the routes and the middleware can name it
without importing the app factory that imports them."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

from anyio import CapacityLimiter

from unclip.provenance import Provenance
from unclip.server.auth import KeyChecker
from unclip.server.batching import BatchQueue
from unclip.server.engine import Engine
from unclip.server.guard import ContentGuard
from unclip.server.logs import event, log
from unclip.server.metrics import Metrics
from unclip.server.settings import ServerSettings
from unclip.server.storage import ImageStore

if TYPE_CHECKING:  # the Redis and lock types, without importing the optional redis client
    from unclip.server.data_lock import DataDirLock
    from unclip.server.limits import Limits
    from unclip.server.redis_state import RedisImageStore


@dataclass
class ServerState:
    settings: ServerSettings
    engine: Engine
    metrics: Metrics
    queue: BatchQueue
    store: ImageStore | RedisImageStore
    guard: ContentGuard
    keys: KeyChecker
    started_at: float
    limits: Limits  # per-key rate limits, quotas and usage (in memory, or in Redis)
    provenance: Provenance | None = None  # marks and signs every returned PNG
    draining: bool = False
    drain_deadline: float | None = None  # time.monotonic() by which shutdown must be complete
    inflight: int = 0  # HTTP requests being handled (all endpoints)
    # uploads decoded or checked at once (set when the loop runs)
    upload_limiter: CapacityLimiter | None = None
    data_lock: DataDirLock | None = None  # the local data_dir's lock (released at shutdown); None with Redis

    def begin_drain(self) -> None:
        if not self.draining:
            self.draining = True
            self.drain_deadline = time.monotonic() + self.settings.shutdown_timeout_s
            event(
                log,
                logging.WARNING,
                "draining: new requests get 503; finishing in-flight requests",
                inflight=self.inflight,
                queued=self.queue.depth,
            )
