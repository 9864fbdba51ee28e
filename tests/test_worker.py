"""The same pipeline under arq: jobs on the real Redis, processed by a real worker."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from arq.connections import RedisSettings
from arq.worker import Worker
from sqlalchemy import select
from sqlmodel import col

from qanat import worker as worker_module
from qanat.config import Settings
from qanat.errors import ChannelUnavailable
from qanat.model import Inbound, Reply, Sender, SentReply
from qanat.outbound.deps import Delivery
from qanat.outbound.replies import deliver_reply, send_reply
from qanat.runtime import start_runtime, stop_runtime
from qanat.store.access import Viewer
from qanat.store.tables import Event, Message, Ticket, User
from qanat.store.users import add_user
from qanat.worker import WorkerSettings


def sms(external_id: str, text: str, phone: str = "+97333123456") -> Inbound:
    return Inbound(
        channel="sms",
        external_id=external_id,
        received_at=datetime(2026, 11, 2, 5, 0, tzinfo=UTC),
        sender=Sender(handle=phone, phone=phone),
        text=text,
    )


def burst_worker(settings: Settings, redis_url: str) -> Worker:
    return Worker(
        functions=WorkerSettings.functions,
        redis_settings=RedisSettings.from_dsn(redis_url),
        on_startup=WorkerSettings.on_startup,
        on_shutdown=WorkerSettings.on_shutdown,
        ctx={"settings": settings},
        burst=True,
        poll_delay=0.05,
        handle_signals=False,
    )


async def test_saved_messages_are_processed_by_an_arq_worker(
    settings: Settings, redis_url: str
) -> None:
    settings = settings.model_copy(update={"redis_url": redis_url})
    runtime = await start_runtime(settings)
    try:
        first = await runtime.intake.save(sms("SM1", "طفح مجاري في مجمع 305"))
        await runtime.intake.save(sms("SM1", "طفح مجاري في مجمع 305"))  # a webhook retry
        await runtime.intake.save(sms("SM2", "حفرة في طريق 12", phone="+97336001122"))
        # Queued, not yet processed: nothing runs inline when Redis is configured.
        async with runtime.db.session() as session:
            states = (await session.execute(select(Message.state))).scalars().all()
        assert states == ["received", "received"]
        # Enqueueing the same message again is refused by its job id.
        await runtime.queue.enqueue_processing(first.message_id)
        worker = burst_worker(settings, redis_url)
        await worker.main()
        await worker.close()
        assert worker.jobs_complete == 2 and worker.jobs_failed == 0
        async with runtime.db.session() as session:
            states = (await session.execute(select(Message.state))).scalars().all()
            count = len((await session.execute(select(Ticket.id))).all())
        assert states == ["processed", "processed"]
        assert count == 2
    finally:
        await stop_runtime(runtime)


class FlakySender:
    """A gateway that fails twice for a passing reason, then sends."""

    def __init__(self) -> None:
        self.tries = 0
        self.sent: list[Reply] = []

    async def send(self, reply: Reply) -> SentReply:
        self.tries += 1
        if self.tries <= 2:
            raise ChannelUnavailable("gateway timed out")
        self.sent.append(reply)
        return SentReply(external_id=f"SMOUT{self.tries}")


async def test_a_reply_whose_channel_fails_twice_is_sent_once_by_the_worker(
    settings: Settings, redis_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(worker_module, "SEND_BACKOFF_S", 0)  # arq's defer, not the test, waits
    settings = settings.model_copy(update={"redis_url": redis_url})
    runtime = await start_runtime(settings)
    gateway = FlakySender()

    async def startup(ctx: dict[str, Any]) -> None:
        await WorkerSettings.on_startup(ctx)
        ctx["runtime"].senders["sms"] = gateway

    try:
        await runtime.intake.save(sms("SM1", "طفح مجاري في مجمع 305"))
        await run_burst(burst_worker(settings, redis_url))
        async with runtime.db.session() as session:
            ticket = (await session.execute(select(Ticket))).scalar_one()
        assert ticket.id is not None
        await add_user(
            runtime.db, username="noora", role="admin", display_name="Noora", password="x" * 12
        )
        async with runtime.db.session() as session:
            user = (await session.execute(select(User))).scalar_one()
        assert user.id is not None
        staff = Viewer(user_id=user.id, username="noora", display_name="Noora", role="admin")
        queued = await send_reply(runtime, ticket_id=ticket.id, text="وصلنا بلاغكم", viewer=staff)
        assert queued.state == "queued"  # the web request does not wait for the gateway
        sender = burst_worker(settings, redis_url)
        sender.on_startup = startup
        await run_burst(sender)
        assert gateway.tries == 3 and len(gateway.sent) == 1
        async with runtime.db.session() as session:
            row = await session.get(Message, queued.message_id)
            events = (
                await session.execute(
                    select(Event.type, Event.data).where(col(Event.message_id) == queued.message_id)
                )
            ).all()
        assert row is not None and row.state == "sent" and row.external_id == "SMOUT3"
        assert [(kind, data.get("tries")) for kind, data in events] == [("reply_sent", 3)]
        # Queued again (a sweep, a double click): a sent reply is not sent twice.
        assert await deliver_reply(runtime, queued.message_id) == Delivery.skipped
        assert len(gateway.sent) == 1
    finally:
        await stop_runtime(runtime)


async def run_burst(worker: Worker) -> None:
    await worker.main()
    await worker.close()
