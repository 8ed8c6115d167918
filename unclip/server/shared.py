"""Where a server keeps its `url` images, limits and usage: in this process and its locked `data_dir`
(the default: one server process), or in Redis when `redis_url` is set (several processes share it)."""

from __future__ import annotations

import logging
from typing import Any

from unclip.server.data_lock import DataDirLock
from unclip.server.limits import Limits, LocalLimits
from unclip.server.logs import event, log
from unclip.server.settings import ServerSettings
from unclip.server.storage import ImageStore


def open_state(settings: ServerSettings) -> tuple[Any, Limits, DataDirLock | None]:
    """(image store, limits, the data_dir lock or None). Errors name the setting at fault."""
    if settings.redis_url:
        from unclip.server.redis_state import RedisImageStore, RedisLimits, connect, shown_url

        client = connect(settings.redis_url)
        event(
            log,
            logging.INFO,
            "shared state in Redis: url images, limits and usage",
            redis=shown_url(settings.redis_url),
        )
        store: Any = RedisImageStore(
            client, settings.url_ttl_s, settings.storage_max_bytes, settings.storage_max_files
        )
        return store, RedisLimits(client, settings.rate_limit_rpm, settings.quota_images_per_day), None
    # the lock first: opening the store removes leftovers and expired files, which would be another
    # process's writes in progress and live URLs
    lock = DataDirLock(settings.data_path()).acquire()
    try:
        store = ImageStore(
            settings.data_path(), settings.url_ttl_s, settings.storage_max_bytes, settings.storage_max_files
        )
    except BaseException:
        lock.release()
        raise
    return store, LocalLimits(settings.rate_limit_rpm, settings.quota_images_per_day), lock
