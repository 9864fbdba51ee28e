"""Fault tests with real processes: a worker killed mid-burst, Redis down, the store down."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from qanat.config import Settings, load_settings
from qanat.errors import ChannelUnavailable
from qanat.ingest.intake import StoreIntake
from qanat.jobs.queue import PROCESS_JOB, InlineQueue
from qanat.jobs.reconcile import reconcile
from qanat.model import Inbound, Sender
from qanat.runtime import Runtime, start_runtime, stop_runtime
from qanat.store.db import Database
from qanat.store.tables import Event, Message, Ticket
from qanat.worker import WorkerSettings

CHANNELS = ("sms", "telegram", "x", "email", "call_centre", "web")
TEXTS = (
    "طفح مجاري في مجمع {b} طريق {r}",
    "حفرة كبيرة في شارع {r} مجمع {b}",
    "Street light out on Road {r}, Block {b}",
    "الزبالة ما انشالت من اسبوع في مجمع {b}",
)


def burst(count: int) -> list[Inbound]:
    start = datetime(2026, 11, 3, tzinfo=UTC)
    return [
        Inbound(
            channel=CHANNELS[n % len(CHANNELS)],
            external_id=f"burst-{n}",
            received_at=start + timedelta(seconds=n),
            sender=Sender(handle=f"+9733{n:07d}", phone=f"+9733{n:07d}"),
            text=TEXTS[n % len(TEXTS)].format(b=300 + n % 50, r=n % 97),
        )
        for n in range(count)
    ]


def start_worker(settings: Settings, log: Path) -> subprocess.Popen[bytes]:
    """``qanat worker`` as its own process, its output appended to ``log``."""
    env = os.environ | {
        "QANAT_DATABASE_URL": settings.database_url,
        "QANAT_REDIS_URL": settings.redis_url or "",
        "QANAT_ATTACHMENTS_DIR": str(settings.attachments_dir),
    }
    with log.open("ab") as handle:  # the child keeps its own copy of the descriptor
        return subprocess.Popen(
            [sys.executable, "-m", "qanat", "worker"],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=handle,
        )


async def wait_until(runtime: Runtime, done: Callable[[int], bool], seconds: float = 300) -> None:
    """Poll the processed count until ``done`` says so (bounded, generously for a loaded
    machine: a test must end, but this is not a speed check)."""
    deadline = time.monotonic() + seconds
    while not done(await processed_count(runtime)):
        assert time.monotonic() < deadline, "workers did not finish in time"
        await asyncio.sleep(0.05)


async def processed_count(runtime: Runtime) -> int:
    async with runtime.db.session() as session:
        statement = select(func.count()).where(Message.state == "processed")  # type: ignore[arg-type]
        return int((await session.execute(statement)).scalar_one())


@pytest.fixture
def pg_settings(empty_postgres_url: str, redis_url: str, tmp_path: Path) -> Settings:
    return load_settings(
        database_url=empty_postgres_url, redis_url=redis_url, attachments_dir=tmp_path / "files"
    )


async def test_a_worker_killed_mid_burst_loses_and_duplicates_nothing(
    pg_settings: Settings, tmp_path: Path
) -> None:
    log = tmp_path / "worker.log"
    count = 2000
    runtime = await start_runtime(pg_settings)
    try:
        for inbound in burst(count):
            await runtime.intake.save(inbound)
        worker = start_worker(pg_settings, log)
        await wait_until(runtime, lambda processed: processed >= count // 4)
        worker.send_signal(signal.SIGKILL)
        worker.wait()
        killed_at = await processed_count(runtime)
        assert 0 < killed_at < count, "the kill must land in the middle of the burst"
        restarted = start_worker(pg_settings, log)
        try:
            # Jobs in flight at the kill stay held by arq's in-progress keys (until their
            # timeout); the reconciliation re-queues those messages under new job ids.
            in_flight = WorkerSettings.max_jobs
            await wait_until(runtime, lambda processed: processed >= count - in_flight)
            await asyncio.sleep(1)
            await reconcile(runtime, since=datetime(2026, 11, 1, tzinfo=UTC), grace=timedelta(0))
            await wait_until(runtime, lambda processed: processed == count)
        finally:
            restarted.terminate()
            restarted.wait()
        async with runtime.db.session() as session:
            states = dict(
                (
                    await session.execute(
                        select(Message.state, func.count()).group_by(Message.state)
                    )
                ).all()  # type: ignore[call-overload]
            )
            added = (
                await session.execute(
                    select(Event.message_id, func.count())  # type: ignore[call-overload]
                    .where(Event.type == "message_added")
                    .group_by(Event.message_id)
                )
            ).all()
            created = (
                await session.execute(select(func.count()).where(Event.type == "created"))  # type: ignore[arg-type]
            ).scalar_one()
            tickets = (await session.execute(select(func.count()).select_from(Ticket))).scalar_one()
    finally:
        await stop_runtime(runtime)
    assert states == {"processed": count}
    assert len(added) == count and {n for _, n in added} == {1}  # each message once
    assert created == tickets  # no ticket created twice for one message


async def test_with_redis_down_messages_are_still_saved_then_recovered(
    settings: Settings,
) -> None:
    down = settings.model_copy(update={"redis_url": "redis://127.0.0.1:1/0"})
    runtime = await start_runtime(down)
    try:
        result = await runtime.intake.save(burst(1)[0])
        assert result.created  # saved and acknowledged although nothing was queued
        async with runtime.db.session() as session:
            message = await session.get(Message, result.message_id)
        assert message is not None and message.state == "received"
        report = await reconcile(
            runtime, since=datetime(2026, 11, 1, tzinfo=UTC), grace=timedelta(0)
        )
        assert not report.ok  # the queue is still down: the ledger says so
        # Redis is back (inline here): the next night processes it.
        from qanat.runtime import inline_jobs

        runtime.queue = InlineQueue(inline_jobs(runtime))
        report = await reconcile(
            runtime, since=datetime(2026, 11, 1, tzinfo=UTC), grace=timedelta(0)
        )
        assert report.ok and await processed_count(runtime) == 1
    finally:
        await stop_runtime(runtime)


async def test_with_the_store_down_nothing_is_acknowledged(tmp_path: Path) -> None:
    database = Database.from_url("postgresql://postgres@127.0.0.1:1/qanat")

    async def never(_message_id: int) -> None:
        raise AssertionError("nothing may be queued when nothing was saved")

    intake = StoreIntake(
        database,
        InlineQueue({PROCESS_JOB: never}),
        attachments_dir=tmp_path / "files",
        attachment_max_bytes=1000,
    )
    with pytest.raises(ChannelUnavailable, match="cannot save"):
        await intake.save(burst(1)[0])
    await database.dispose()
