"""Rate limits hold across processes: counted in the store, or in Redis when configured."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from redis.asyncio import Redis
from sqlalchemy import func, select

from qanat.config import Settings
from qanat.errors import TooManyRequests
from qanat.runtime import Runtime, start_runtime, stop_runtime
from qanat.store.tables import RateCount
from qanat.web.limits import Limit, counter_key, enforce

LIMIT = Limit("test", per=2, window_s=3600)
NOON = 1_796_558_400.0  # a moment well inside one hour's window


@pytest.fixture
async def other_process(settings: Settings) -> AsyncIterator[Runtime]:
    """A second runtime on the same store: another ``qanat serve`` process."""
    started = await start_runtime(settings)
    yield started
    await stop_runtime(started)


async def test_the_store_counts_for_every_process(runtime: Runtime, other_process: Runtime) -> None:
    await enforce(runtime, LIMIT, "+97333445566", now=NOON)
    await enforce(other_process, LIMIT, "+97333445566", now=NOON + 1)
    with pytest.raises(TooManyRequests) as refused:
        await enforce(runtime, LIMIT, "+97333445566", now=NOON + 2)
    window_end = (NOON // 3600 + 1) * 3600
    assert refused.value.retry_after == int(window_end - NOON - 2)
    await enforce(other_process, LIMIT, "+97336112244", now=NOON + 3)  # someone else
    await enforce(runtime, LIMIT, "+97333445566", now=window_end + 1)  # the next hour
    async with runtime.db.session() as session:
        keys = (await session.execute(select(RateCount.key))).scalars().all()
    assert all(k.startswith("qanat:limit:test:") for k in keys)
    assert not any("97333445566" in k for k in keys)  # no counter names anyone


async def test_hits_at_the_same_moment_all_count(runtime: Runtime, other_process: Runtime) -> None:
    many = Limit("burst", per=100)
    await asyncio.gather(
        *(enforce(p, many, "10.0.0.9", now=NOON) for p in [runtime, other_process] * 10)
    )
    async with runtime.db.session() as session:
        assert (await session.execute(select(RateCount.count))).scalar_one() == 20


async def test_no_subject_is_not_limited(runtime: Runtime) -> None:
    for _ in range(5):
        await enforce(runtime, LIMIT, None, now=NOON)


async def test_redis_counts_when_configured(settings: Settings, redis_url: str) -> None:
    configured = settings.model_copy(update={"redis_url": redis_url})
    first, second = (
        await start_runtime(configured, inline=True),
        await start_runtime(configured, inline=True),
    )
    try:
        await enforce(first, LIMIT, "10.0.0.7", now=NOON)
        await enforce(second, LIMIT, "10.0.0.7", now=NOON)
        with pytest.raises(TooManyRequests):
            await enforce(first, LIMIT, "10.0.0.7", now=NOON)
        client = Redis.from_url(redis_url)
        key = counter_key(configured.secret_key, LIMIT, "10.0.0.7")
        window = int(NOON // 3600) * 3600
        assert int(await client.get(f"{key}:{window}") or 0) == 3
        assert 0 < await client.ttl(f"{key}:{window}") <= 3660
        await client.aclose()
        async with first.db.session() as session:
            assert (
                await session.execute(select(func.count()).select_from(RateCount))
            ).scalar_one() == 0
    finally:
        await stop_runtime(first)
        await stop_runtime(second)


async def test_redis_down_falls_back_to_the_store(settings: Settings) -> None:
    unreachable = settings.model_copy(update={"redis_url": "redis://127.0.0.1:1/0"})
    runtime = await start_runtime(unreachable, inline=True)
    try:
        await enforce(runtime, LIMIT, "10.0.0.8", now=NOON)
        async with runtime.db.session() as session:
            assert (await session.execute(select(RateCount.count))).scalar_one() == 1
    finally:
        await stop_runtime(runtime)
