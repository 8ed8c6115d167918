"""API keys: `Authorization: Bearer KEY` on every /v1 endpoint when keys are configured.

With no keys configured the server only listens on loopback (enforced in `runner`), and every
request is accepted. Image file URLs need no key: their names are unguessable. Failed
authentications are limited per client address (`FailureLimiter`).
"""

from __future__ import annotations

import hmac
import math
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable

from fastapi import Request, Security
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from unclip.server.errors import missing_key, rate_limited, wrong_key
from unclip.server.settings import redact_key

bearer_scheme = HTTPBearer(
    auto_error=False, description="an API key configured with `unclip serve --api-key`"
)


class FailureLimiter:
    """Failed authentications per client address in a sliding window: past `max_failures`, every
    request of that address that needs a key gets a 429 until its oldest failure leaves the window
    (a right key included, so guessing gains nothing). Bounded memory: at most `max_clients` addresses."""

    def __init__(
        self,
        max_failures: int,
        window_s: float,
        max_clients: int = 10_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.max_failures = max_failures
        self.window_s = window_s
        self.max_clients = max_clients
        self.clock = clock
        self._failures: OrderedDict[str, deque[float]] = OrderedDict()
        self._lock = threading.Lock()

    def retry_after(self, client: str) -> int | None:
        """Seconds until `client` may try again, or None if it may now."""
        with self._lock:
            times = self._recent(client)
            if times is None or len(times) < self.max_failures:
                return None
            return max(1, math.ceil(times[0] + self.window_s - self.clock()))

    def record(self, client: str) -> None:
        with self._lock:
            times = self._recent(client)
            if times is None:
                times = self._failures[client] = deque(maxlen=self.max_failures)
                while len(self._failures) > self.max_clients:
                    self._failures.popitem(last=False)
            times.append(self.clock())
            self._failures.move_to_end(client)

    def _recent(self, client: str) -> deque[float] | None:
        times = self._failures.get(client)
        if times is not None:
            while times and times[0] <= self.clock() - self.window_s:
                times.popleft()
        return times


class KeyChecker:
    def __init__(self, keys: list[str], limiter: FailureLimiter | None = None) -> None:
        self._keys = [k.encode() for k in keys]
        self.limiter = limiter or FailureLimiter(10, 60.0)

    @property
    def enabled(self) -> bool:
        return bool(self._keys)

    def check(self, authorization: str | None, client: str = "") -> None:
        """Raise the OpenAI-shaped 401 for a missing or wrong key (a 429 for a client address with too
        many recent failures); return if the key is valid."""
        if not self._keys:
            return
        wait = self.limiter.retry_after(client)
        if wait is not None:
            raise rate_limited(
                f"Too many failed authentications from your address: try again in {wait}s.", wait
            )
        scheme, _, token = (authorization or "").strip().partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            self.limiter.record(client)
            raise missing_key()
        candidate = token.encode()
        ok = False
        for key in self._keys:  # compare against every key: no early exit
            ok |= hmac.compare_digest(candidate, key)
        if not ok:
            self.limiter.record(client)
            raise wrong_key(redact_key(token))


async def require_key(
    request: Request,
    _: HTTPAuthorizationCredentials | None = Security(bearer_scheme),  # noqa: B008 (FastAPI's way)
) -> None:
    """FastAPI dependency (the `HTTPBearer` parameter is there so the OpenAPI document shows the scheme)."""
    client = request.client.host if request.client else ""
    keys = request.app.state.server.keys
    keys.check(request.headers.get("authorization"), client)
    if keys.enabled:  # the key's rate limits and usage (limits.py) are per key
        request.state.api_key = request.headers.get("authorization", "").strip().partition(" ")[2].strip()
