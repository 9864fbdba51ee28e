"""Rate limits for the public channels: per address, per phone or email, per Open311 key.

Counts live in Redis when ``QANAT_REDIS_URL`` is set (one ``INCR`` per hit) and in the
store otherwise, so limits hold across every ``qanat serve`` process either way. If
Redis cannot be reached the store counts instead: a citizen is never refused because a
counter is down. Keys are HMACs of the address or phone, so no counter names anyone.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import time
from dataclasses import dataclass

from qanat.errors import TooManyRequests
from qanat.runtime import Runtime
from qanat.store.limits import count_hit

log = logging.getLogger(__name__)

HOUR = 3600


@dataclass(frozen=True)
class Limit:
    """At most ``per`` hits of ``name`` for one subject in each ``window_s`` seconds."""

    name: str
    per: int
    window_s: int = HOUR


def counter_key(secret: str, limit: Limit, subject: str) -> str:
    """The counter's key: the limit's name and an HMAC of the subject (an address, a phone)."""
    digest = hmac.new(secret.encode(), subject.encode(), hashlib.sha256).hexdigest()[:32]
    return f"qanat:limit:{limit.name}:{digest}"


async def _redis_count(url: str, key: str, window_s: int) -> int:
    from redis.asyncio import Redis

    client = Redis.from_url(url, socket_connect_timeout=1, socket_timeout=1)
    try:
        async with client.pipeline(transaction=True) as pipe:
            pipe.incr(key)
            pipe.expire(key, window_s + 60)
            count, _ = await pipe.execute()
        return int(count)
    finally:
        await client.aclose()


async def count(runtime: Runtime, key: str, *, window_start: int, window_s: int) -> int:
    """Count one hit of ``key`` in the window (Redis when configured, else the store)."""
    url = runtime.settings.redis_url
    if url:
        try:
            return await _redis_count(url, f"{key}:{window_start}", window_s)
        except Exception:  # redis' errors are not OSErrors; any failure falls back
            log.warning("rate limit counted in the store: Redis is not reachable")
    async with runtime.db.writing() as session:
        return await count_hit(session, key=key, window_start=window_start)


async def enforce(
    runtime: Runtime, limit: Limit, subject: str | None, *, now: float | None = None
) -> None:
    """Count a hit for ``subject``; raise :class:`TooManyRequests` once it is over ``limit``.

    A missing subject (no address known, no phone given) is not limited by this limit.
    """
    if not subject:
        return
    moment = time.time() if now is None else now
    window_start = int(moment // limit.window_s) * limit.window_s
    key = counter_key(runtime.settings.secret_key, limit, subject)
    hits = await count(runtime, key, window_start=window_start, window_s=limit.window_s)
    if hits > limit.per:
        retry_after = max(1, int(window_start + limit.window_s - moment))
        raise TooManyRequests(
            f"too many requests ({limit.name}): try again in {retry_after} seconds",
            retry_after=retry_after,
        )
