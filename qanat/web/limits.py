"""Limits for the public channels: request rates (per address, per phone or email, per
Open311 key) and body sizes (refused while reading, before any parsing).

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

from fastapi import Request
from starlette.types import Message

from qanat.errors import TooLarge, TooManyRequests
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


async def read_limited(request: Request, limit: int) -> Request:
    """The request with its body read, or :class:`TooLarge` as soon as it passes ``limit``."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise TooLarge(f"the upload of {declared} bytes is over the {limit}-byte limit")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise TooLarge(f"the upload is over the {limit}-byte limit")
        chunks.append(chunk)
    body = b"".join(chunks)
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if sent:
            return {"type": "http.disconnect"}
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return Request(request.scope, replay)
