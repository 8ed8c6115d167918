"""Per-key rate limits and quotas, and usage per key and per request `user`.

Two limits, both per API key and both off by default: `rate_limit_rpm` (image requests admitted per
minute, a sliding window) and `quota_images_per_day` (images asked for per UTC day; a request is
admitted only whole). Past either, the request gets a 429 with `retry-after`. Usage (requests
answered with images, and their images) is counted per key and per key and `user` field.

`LocalLimits` keeps all of it in this process (one server). Several server processes share one Redis
(`redis_state.RedisLimits`), so that the limits are the sum over all of them, not per process.
Keys are never stored: a key is named by `key_id` (a hash) and shown by `redact_key`.
"""

from __future__ import annotations

import hashlib
import math
import threading
import time
from collections import defaultdict, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

from unclip.server.settings import redact_key

NO_KEY = "(no key)"  # a server without API keys: everyone shares one bucket
DAY_S = 86_400


@dataclass
class Refusal:
    """Why a request is not admitted now, and when to retry."""

    message: str
    retry_after_s: int


@dataclass
class KeyUsage:
    label: str  # the key as logs show it (redacted)
    requests: int = 0
    images: int = 0
    users: dict[str, tuple[int, int]] = field(default_factory=dict)  # user -> (requests, images)


class Limits(Protocol):
    def admit(self, key: str | None, images: int) -> Refusal | None: ...

    def record(self, key: str | None, user: str | None, images: int) -> None: ...

    def usage(self) -> list[KeyUsage]: ...


def key_id(key: str | None) -> str:
    """A stable, non-secret name for a key (what shared state stores instead of the key)."""
    return "none" if not key else hashlib.sha256(key.encode()).hexdigest()[:16]


def key_label(key: str | None) -> str:
    return NO_KEY if not key else redact_key(key)


def rpm_refusal(wait_s: float, rpm: int) -> Refusal:
    wait = max(1, math.ceil(wait_s))
    return Refusal(
        f"Rate limit reached for your API key: {rpm} image requests per minute. Please try again in {wait}s.",
        wait,
    )


def quota_refusal(wait_s: float, quota: int, used: int, images: int) -> Refusal:
    wait = max(1, math.ceil(wait_s))
    return Refusal(
        f"Daily image quota reached for your API key: {used} of {quota} images used today (UTC), "
        f"this request asks for {images}. The quota resets in {wait}s.",
        wait,
    )


class LocalLimits:
    """The limits and usage of one server process, in memory."""

    def __init__(
        self, rpm: int | None, images_per_day: int | None, clock: Callable[[], float] = time.time
    ) -> None:
        self.rpm = rpm
        self.images_per_day = images_per_day
        self.clock = clock
        self._lock = threading.Lock()
        self._requests: dict[str, deque[float]] = defaultdict(deque)
        self._day_images: dict[tuple[str, int], int] = defaultdict(int)
        self._usage: dict[str, KeyUsage] = {}

    def admit(self, key: str | None, images: int) -> Refusal | None:
        kid, now = key_id(key), self.clock()
        with self._lock:
            times = self._requests[kid]
            while times and times[0] <= now - 60:
                times.popleft()
            if self.rpm and len(times) >= self.rpm:
                return rpm_refusal(times[0] + 60 - now, self.rpm)
            day = int(now // DAY_S)
            if self.images_per_day:
                used = self._day_images[(kid, day)]
                if used + images > self.images_per_day:
                    return quota_refusal((day + 1) * DAY_S - now, self.images_per_day, used, images)
                self._day_images[(kid, day)] = used + images
                for old in [k for k in self._day_images if k[1] < day]:
                    del self._day_images[old]
            if self.rpm:
                times.append(now)
        return None

    def record(self, key: str | None, user: str | None, images: int) -> None:
        with self._lock:
            row = self._usage.setdefault(key_id(key), KeyUsage(key_label(key)))
            row.requests += 1
            row.images += images
            if user:
                r, i = row.users.get(user, (0, 0))
                row.users[user] = (r + 1, i + images)

    def usage(self) -> list[KeyUsage]:
        with self._lock:
            return [KeyUsage(u.label, u.requests, u.images, dict(u.users)) for u in self._usage.values()]
