"""Fixed-window rate limits kept in the cache, shared by every process through Redis.

A cache that fails lets the call through: a Redis outage may slow abuse down less, never
lock a shop out of its own work."""

from __future__ import annotations

import time

import structlog
from django.core.cache import cache

logger = structlog.get_logger(__name__)


def seconds_over_limit(key: str, *, limit: int, window: int) -> int | None:
    """Count one call under `key`; the seconds to wait when it is past `limit` calls in the
    current `window` (seconds), else None. A limit or window of 0 turns the check off."""
    if limit <= 0 or window <= 0:
        return None
    now = int(time.time())
    window_start = now - now % window
    bucket = f"ratelimit:{key}:{window_start}"
    try:
        cache.add(bucket, 0, timeout=window + 1)
        count = cache.incr(bucket)
    except Exception as error:
        logger.warning("ratelimit.cache_failed", key=key, error=type(error).__name__)
        return None
    if count <= limit:
        return None
    return max(1, window_start + window - now)
