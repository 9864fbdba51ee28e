"""Outages with real processes on a private PostgreSQL and Redis: the worker stays up and
every acknowledged message becomes a ticket within two minutes of recovery, without
``qanat reconcile``; a worker killed with ``kill -9`` leaves no job waiting a minute.

The windows here are a few seconds (CI); ``bench/outages.py`` runs the same scenario
with 20-second outages and prints the figures.
"""

from __future__ import annotations

import asyncio
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select

from qanat.config import Settings, load_settings
from qanat.runtime import start_runtime, stop_runtime
from qanat.store.tables import Event, Message
from tests.conftest import service_missing
from tests.faults.test_faults import burst, processed_count, start_worker
from tests.support.outages import Stack, build_stack, run_outages
from tests.support.private_services import ServiceMissing


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[Stack]:
    try:
        built = build_stack(tmp_path)
    except ServiceMissing as exc:
        service_missing(str(exc))
    try:
        yield built
    finally:
        built.close()


async def test_redis_killed_and_postgres_stopped_mid_stream_lose_nothing(stack: Stack) -> None:
    stack.start_serve()
    stack.start_worker()
    figures = await run_outages(stack, window_s=4, calm_s=2)
    assert figures.worker_alive, stack.log("worker").read_text()[-2000:]
    assert figures.acknowledged > 0 and figures.sent > figures.acknowledged
    # While the store was away the answer was "try again" (503), nothing else.
    assert set(figures.refused) <= {"503"}, figures.refused
    assert figures.redis_recovery_s < 120 and figures.postgres_recovery_s < 120
    for name in ("serve", "worker"):
        log = stack.log(name).read_text(encoding="utf-8", errors="replace")
        assert "Traceback" not in log and "INSERT INTO" not in log


@pytest.fixture
def pg_settings(empty_postgres_url: str, redis_url: str, tmp_path: Path) -> Settings:
    return load_settings(
        database_url=empty_postgres_url, redis_url=redis_url, attachments_dir=tmp_path / "files"
    )


async def test_a_killed_workers_jobs_run_again_within_a_minute(
    pg_settings: Settings, tmp_path: Path
) -> None:
    log, count = tmp_path / "worker.log", 400
    runtime = await start_runtime(pg_settings)
    try:
        for inbound in burst(count):
            await runtime.intake.save(inbound)
        first = start_worker(pg_settings, log)
        deadline = time.monotonic() + 120
        while await processed_count(runtime) < count // 4:
            assert time.monotonic() < deadline, log.read_text()
            await asyncio.sleep(0.05)
        first.send_signal(signal.SIGKILL)
        first.wait()
        killed_at = time.monotonic()
        second = start_worker(pg_settings, log)
        try:
            while await processed_count(runtime) < count:
                assert time.monotonic() - killed_at < 60, "a job waited more than a minute"
                await asyncio.sleep(0.1)
        finally:
            second.terminate()
            second.wait()
        async with runtime.db.session() as session:
            added = (
                await session.execute(
                    select(func.count()).where(Event.type == "message_added")  # type: ignore[arg-type]
                )
            ).scalar_one()
            states = (await session.execute(select(Message.state).distinct())).scalars().all()
    finally:
        await stop_runtime(runtime)
    assert states == ["processed"] and added == count  # each message once
