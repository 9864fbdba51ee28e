"""The same pipeline under arq: jobs on the real Redis, processed by a real worker."""

from __future__ import annotations

from datetime import UTC, datetime

from arq.connections import RedisSettings
from arq.worker import Worker
from sqlalchemy import select

from qanat.config import Settings
from qanat.model import Inbound, Sender
from qanat.runtime import start_runtime, stop_runtime
from qanat.store.tables import Message, Ticket
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
