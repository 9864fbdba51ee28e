"""The sweeper: what was saved but still waits is queued again, never twice."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from redis.asyncio import Redis
from sqlalchemy import select

from qanat.config import Settings
from qanat.jobs.queue import InlineQueue, process_job_id
from qanat.jobs.sweep import sweep
from qanat.model import Inbound, Reply, Sender, SentReply
from qanat.outbound.replies import send_reply
from qanat.runtime import Runtime, inline_jobs, start_runtime, stop_runtime
from qanat.store.access import Viewer
from qanat.store.tables import Message, Ticket, User, utcnow
from qanat.store.users import add_user
from tests.test_worker import burst_worker, run_burst


def sms(external_id: str) -> Inbound:
    return Inbound(
        channel="sms",
        external_id=external_id,
        received_at=datetime(2026, 11, 2, 5, 0, tzinfo=UTC),
        sender=Sender(handle="+97333123456", phone="+97333123456"),
        text="طفح مجاري في مجمع 305 طريق 45",
    )


class DownQueue:
    """A queue that is down: every enqueue fails."""

    async def enqueue(self, job: str, *args: Any, job_id: str | None = None) -> None:
        raise ConnectionError("Redis is down")

    async def enqueue_processing(self, message_id: int, *, attempt: int = 0) -> None:
        raise ConnectionError("Redis is down")


async def states(runtime: Runtime) -> list[str]:
    async with runtime.db.session() as session:
        return list((await session.execute(select(Message.state))).scalars())


async def test_a_message_saved_while_the_queue_was_down_is_processed_after_the_grace(
    runtime: Runtime,
) -> None:
    runtime.intake._queue = DownQueue()  # the intake's queue is down when it saves
    await runtime.intake.save(sms("SM1"))
    assert await states(runtime) == ["received"]
    within_grace = await sweep(runtime, now=utcnow())
    assert within_grace.waiting_messages == 0  # too fresh: its own job may still be coming
    later = utcnow() + timedelta(seconds=runtime.settings.sweep_grace_seconds + 1)
    report = await sweep(runtime, now=later)
    assert (report.waiting_messages, report.requeued_messages) == (1, 1)
    assert await states(runtime) == ["processed"]
    assert (await sweep(runtime, now=later)).waiting_messages == 0


async def test_a_redelivered_message_still_waiting_is_queued_again(runtime: Runtime) -> None:
    healthy = runtime.intake._queue
    runtime.intake._queue = DownQueue()
    first = await runtime.intake.save(sms("SM2"))  # committed, then the process "died"
    runtime.intake._queue = healthy
    again = await runtime.intake.save(sms("SM2"))  # the gateway's retry
    assert not again.created and again.message_id == first.message_id
    assert await states(runtime) == ["processed"]


async def test_with_arq_a_queued_job_is_not_doubled_and_a_finished_one_is_queued_anew(
    settings: Settings, redis_url: str
) -> None:
    settings = settings.model_copy(update={"redis_url": redis_url, "sweep_grace_seconds": 0})
    runtime = await start_runtime(settings)
    redis = Redis.from_url(redis_url)
    try:
        waiting = await runtime.intake.save(sms("SM3"))  # queued by the intake
        stuck = (await runtime.intake.save(sms("SM4"))).message_id
        # SM4's job "finished" (its result is kept) while the message still waits.
        await redis.delete(f"arq:job:{process_job_id(stuck)}")
        await redis.zrem("arq:queue", process_job_id(stuck))
        await redis.set(f"arq:result:{process_job_id(stuck)}", b"done")
        report = await sweep(runtime, now=utcnow() + timedelta(seconds=1))
        assert (report.waiting_messages, report.requeued_messages) == (2, 1)
        assert await redis.zscore("arq:queue", f"{process_job_id(stuck)}:sweep") is None
        queued = {key.decode() for key in await redis.zrange("arq:queue", 0, -1)}
        assert process_job_id(waiting.message_id) in queued
        assert any(key.startswith(f"{process_job_id(stuck)}:sweep") for key in queued)
        await run_burst(burst_worker(settings, redis_url))
        assert await states(runtime) == ["processed", "processed"]
    finally:
        await redis.aclose()
        await stop_runtime(runtime)


async def test_an_unsent_reply_is_sent_by_the_sweep(runtime: Runtime) -> None:
    reply_id, gateway = await queued_reply(runtime)
    runtime.queue = InlineQueue(inline_jobs(runtime))
    later = utcnow() + timedelta(seconds=runtime.settings.sweep_grace_seconds + 1)
    report = await sweep(runtime, now=later)
    assert (report.unsent_replies, report.requeued_replies) == (1, 1)
    async with runtime.db.session() as session:
        row = await session.get(Message, reply_id)
    assert row is not None and row.state == "sent" and len(gateway.sent) == 1
    assert (await sweep(runtime, now=later)).unsent_replies == 0


class Gateway:
    """A channel that sends everything it is given."""

    def __init__(self) -> None:
        self.sent: list[Reply] = []

    async def send(self, reply: Reply) -> SentReply:
        self.sent.append(reply)
        return SentReply(external_id=f"OUT{len(self.sent)}")


class RefusingQueue:
    async def enqueue(self, job: str, *args: object, job_id: str | None = None) -> None:
        raise ConnectionError("Redis is down")


async def queued_reply(runtime: Runtime) -> tuple[int, Gateway]:
    """A ticket's reply left ``queued`` because its enqueue failed; and its gateway."""
    await runtime.intake.save(sms("SM-reply"))
    async with runtime.db.session() as session:
        ticket = (await session.execute(select(Ticket))).scalar_one()
    await add_user(runtime.db, username="noora", role="admin", display_name="N", password="x" * 12)
    async with runtime.db.session() as session:
        user = (await session.execute(select(User))).scalar_one()
    assert ticket.id is not None and user.id is not None
    gateway = Gateway()
    runtime.senders["sms"] = gateway
    staff = Viewer(user_id=user.id, username="noora", display_name="N", role="admin")
    inline, runtime.queue = runtime.queue, RefusingQueue()  # type: ignore[assignment]
    result = await send_reply(runtime, ticket_id=ticket.id, text="وصلنا بلاغكم", viewer=staff)
    runtime.queue = inline
    assert result.state == "queued" and gateway.sent == []
    return result.message_id, gateway
