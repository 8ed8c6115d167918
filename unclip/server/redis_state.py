"""State shared by several server processes, in one Redis: `url` images with their TTL, per-key limits
and usage (`redis_url`, `--redis URL`; needs the `ray` extra's `redis` client, or `pip install redis`).

Each image is one Redis string that expires with its URL, so every process serves every URL. An
index (a sorted set by expiry) and a byte counter keep `storage_max_files` / `storage_max_bytes` for
all processes together; like the local store, only expired images make room (a URL lives its TTL).
Every check-and-update is one Lua script (atomic), and times come from Redis's clock, so processes on
machines whose clocks differ still agree. Keys are stored as `limits.key_id` hashes, never in clear.
"""

from __future__ import annotations

import secrets
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from unclip.errors import UnclipError
from unclip.server.limits import KeyUsage, Refusal, key_id, key_label, quota_refusal, rpm_refusal
from unclip.server.storage import NAME_RE, StorageFull

PREFIX = "unclip:"

# Drop expired names from the index (their strings expire by themselves); leaves `now` set.
_SWEEP = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local expired = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now)
for _, name in ipairs(expired) do
  redis.call('DECRBY', KEYS[3], tonumber(redis.call('HGET', KEYS[2], name) or '0'))
  redis.call('HDEL', KEYS[2], name)
  redis.call('ZREM', KEYS[1], name)
end
local files = redis.call('ZCARD', KEYS[1])
local bytes = tonumber(redis.call('GET', KEYS[3]) or '0')
local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
local wait = 1
if oldest[2] then wait = math.max(1, tonumber(oldest[2]) - now) end
"""
# KEYS: index, sizes, bytes. ARGV: ttl_s, max_files, max_bytes, image key prefix, count, then name, size, png each.
PUT = (
    _SWEEP
    + """
local k = tonumber(ARGV[5])
local total = 0
for i = 0, k - 1 do total = total + tonumber(ARGV[7 + 3 * i]) end
if files + k > tonumber(ARGV[2]) or bytes + total > tonumber(ARGV[3]) then
  return {0, tostring(wait), files, tostring(bytes)}
end
local ttl = tonumber(ARGV[1])
for i = 0, k - 1 do
  local name = ARGV[6 + 3 * i]
  redis.call('SET', ARGV[4] .. name, ARGV[8 + 3 * i], 'PX', math.floor(ttl * 1000))
  redis.call('ZADD', KEYS[1], now + ttl, name)
  redis.call('HSET', KEYS[2], name, ARGV[7 + 3 * i])
end
redis.call('INCRBY', KEYS[3], total)
return {1, '0', files + k, tostring(bytes + total)}
"""
)
STATS = _SWEEP + "return {#expired, tostring(wait), files, tostring(bytes)}"
# KEYS: the key's request times (sorted set), its images-per-day counter prefix.
# ARGV: rpm (0: off), images per day (0: off), images asked, a unique member.
ADMIT = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local rpm, quota, n = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
if rpm > 0 then
  redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - 60)
  if redis.call('ZCARD', KEYS[1]) >= rpm then
    local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
    return {1, tostring(tonumber(oldest[2]) + 60 - now), '0'}
  end
end
local day = math.floor(now / 86400)
local dkey = KEYS[2] .. day
if quota > 0 then
  local used = tonumber(redis.call('GET', dkey) or '0')
  if used + n > quota then return {2, tostring((day + 1) * 86400 - now), tostring(used)} end
  redis.call('INCRBY', dkey, n)
  redis.call('EXPIRE', dkey, 172800)
end
if rpm > 0 then
  redis.call('ZADD', KEYS[1], now, ARGV[4])
  redis.call('EXPIRE', KEYS[1], 120)
end
return {0, '0', '0'}
"""


def shown_url(url: str) -> str:
    """A Redis URL without its password (for messages and logs)."""
    parts = urlsplit(url)
    if parts.password:
        host = parts.hostname or ""
        netloc = f"{parts.username or ''}:***@{host}" + (f":{parts.port}" if parts.port else "")
        return urlunsplit(parts._replace(netloc=netloc))
    return url


def connect(url: str) -> Any:
    """A checked Redis client, or an UnclipError that names the URL and what to do."""
    try:
        import redis
    except ImportError:
        raise UnclipError(
            "redis_url needs the redis client: pip install 'unclip[ray]' (or pip install redis)"
        ) from None
    try:
        client = redis.Redis.from_url(url, socket_timeout=10, socket_connect_timeout=5)
        client.ping()
    except (redis.RedisError, ValueError) as e:
        raise UnclipError(f"redis_url {shown_url(url)}: cannot connect ({e})") from None
    return client


class RedisImageStore:
    """`ImageStore`'s interface over Redis: every process that shares the Redis serves every URL."""

    def __init__(
        self, client: Any, ttl_s: float, max_bytes: int, max_files: int, prefix: str = PREFIX
    ) -> None:
        self.client = client
        self.ttl_s = ttl_s
        self.max_bytes = max_bytes
        self.max_files = max_files
        self.prefix = prefix
        self._keys = [prefix + "imgs", prefix + "imgsizes", prefix + "imgbytes"]
        self._put = client.register_script(PUT)
        self._stats = client.register_script(STATS)

    def put(self, png: bytes) -> str:
        return self.put_many([png])[0]

    def put_many(self, pngs: list[bytes]) -> list[str]:
        names = [secrets.token_urlsafe(24) + ".png" for _ in pngs]
        argv: list[Any] = [self.ttl_s, self.max_files, self.max_bytes, self.prefix + "img:", len(pngs)]
        for name, png in zip(names, pngs):
            argv += [name, len(png), png]
        ok, wait, files, size = self._put(keys=self._keys, args=argv)
        if not ok:
            raise StorageFull(len(pngs), sum(map(len, pngs)), int(files), int(size), float(wait))
        return names

    def room_for(self, files: int) -> bool:
        _, _, stored, _ = self._stats(keys=self._keys)
        return int(stored) + files <= self.max_files

    def full_error(self, files: int, size: int = 0) -> StorageFull:
        _, wait, stored, stored_bytes = self._stats(keys=self._keys)
        return StorageFull(files, size, int(stored), int(stored_bytes), float(wait))

    def read(self, name: str) -> bytes | None:
        if not NAME_RE.match(name):
            return None
        data = self.client.get(self.prefix + "img:" + name)
        return None if data is None else bytes(data)

    def expires_in(self, name: str) -> float:
        ms = self.client.pttl(self.prefix + "img:" + name)
        return max(0.0, ms / 1000) if ms and ms > 0 else 0.0

    def sweep(self) -> int:
        removed, _, _, _ = self._stats(keys=self._keys)
        return int(removed)

    def stats(self) -> tuple[int, int]:
        _, _, files, size = self._stats(keys=self._keys)
        return int(files), int(size)

    def close(self) -> None:
        pass


class RedisLimits:
    """`LocalLimits`' interface over Redis: the limits hold for all processes together."""

    def __init__(
        self, client: Any, rpm: int | None, images_per_day: int | None, prefix: str = PREFIX
    ) -> None:
        self.client = client
        self.rpm = rpm
        self.images_per_day = images_per_day
        self.prefix = prefix
        self._admit = client.register_script(ADMIT)

    def admit(self, key: str | None, images: int) -> Refusal | None:
        if not self.rpm and not self.images_per_day:
            return None
        kid = key_id(key)
        keys = [f"{self.prefix}rpm:{kid}", f"{self.prefix}day:{kid}:"]
        verdict, wait, used = self._admit(
            keys=keys, args=[self.rpm or 0, self.images_per_day or 0, images, secrets.token_hex(8)]
        )
        if int(verdict) == 1:
            return rpm_refusal(float(wait), self.rpm or 0)
        if int(verdict) == 2:
            return quota_refusal(float(wait), self.images_per_day or 0, int(used), images)
        return None

    def record(self, key: str | None, user: str | None, images: int) -> None:
        kid = key_id(key)
        pipe = self.client.pipeline()
        pipe.sadd(self.prefix + "usage:keys", kid)
        pipe.hset(f"{self.prefix}usage:{kid}", "label", key_label(key))
        pipe.hincrby(f"{self.prefix}usage:{kid}", "requests", 1)
        pipe.hincrby(f"{self.prefix}usage:{kid}", "images", images)
        if user:
            user = user[:256]
            pipe.hincrby(f"{self.prefix}usage:{kid}:users", "r:" + user, 1)
            pipe.hincrby(f"{self.prefix}usage:{kid}:users", "i:" + user, images)
        pipe.execute()

    def usage(self) -> list[KeyUsage]:
        out = []
        for kid in sorted(k.decode() for k in self.client.smembers(self.prefix + "usage:keys")):
            row = {
                k.decode(): v.decode() for k, v in self.client.hgetall(f"{self.prefix}usage:{kid}").items()
            }
            users: dict[str, list[int]] = {}
            for field, value in self.client.hgetall(f"{self.prefix}usage:{kid}:users").items():
                what, _, user = field.decode().partition(":")
                users.setdefault(user, [0, 0])[0 if what == "r" else 1] = int(value)
            out.append(
                KeyUsage(
                    row.get("label", kid),
                    int(row.get("requests", 0)),
                    int(row.get("images", 0)),
                    {u: (r, i) for u, (r, i) in sorted(users.items())},
                )
            )
        return out
