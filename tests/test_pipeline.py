"""process_message end to end on the store: tickets, events, threading, failures."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from qanat import pipeline
from qanat.model import Inbound, Sender
from qanat.pipeline import batch
from qanat.runtime import Runtime
from qanat.store.tables import Event, Message, Ticket

START = datetime(2026, 11, 2, 5, 0, tzinfo=UTC)


def message(
    external_id: str,
    text: str,
    *,
    channel: str = "sms",
    phone: str = "+97333123456",
    minutes: int = 0,
    **extra: Any,
) -> Inbound:
    return Inbound(
        channel=channel,
        external_id=external_id,
        received_at=START + timedelta(minutes=minutes),
        sender=Sender(handle=phone, phone=phone),
        text=text,
        **extra,
    )


async def tickets(runtime: Runtime) -> list[Ticket]:
    async with runtime.db.session() as session:
        return list((await session.execute(select(Ticket).order_by(Ticket.id))).scalars())


async def events(runtime: Runtime) -> list[tuple[Any, ...]]:
    async with runtime.db.session() as session:
        rows = await session.execute(
            select(Event.ticket_id, Event.message_id, Event.actor, Event.type).order_by(Event.id)
        )
        return [tuple(row) for row in rows]


async def test_a_message_becomes_a_routed_ticket(runtime: Runtime) -> None:
    saved = await runtime.intake.save(message("SM1", "طفح مجاري في مجمع 305 طريق 45"))
    [ticket] = await tickets(runtime)
    assert ticket.reference == "QN-2026-000001"
    assert ticket.status == "new" and ticket.kind == "complaint"
    assert ticket.channel == "sms" and ticket.contact_id is not None
    async with runtime.db.session() as session:
        stored = await session.get(Message, saved.message_id)
    assert stored is not None and stored.state == "processed"
    assert stored.ticket_id == ticket.id and stored.match_text
    assert [e[3] for e in await events(runtime)] == ["created", "routed", "message_added"]


async def test_processing_twice_changes_nothing(runtime: Runtime) -> None:
    saved = await runtime.intake.save(message("SM1", "عمود إنارة طايح في طريق 12"))
    before = (await events(runtime), [t.model_dump() for t in await tickets(runtime)])
    outcome = await pipeline.process_message(runtime, saved.message_id)
    after = (await events(runtime), [t.model_dump() for t in await tickets(runtime)])
    assert outcome.result == "skipped"
    assert before == after


async def test_the_same_text_from_another_citizen_links_to_the_primary(runtime: Runtime) -> None:
    await runtime.intake.save(message("SM1", "طفح مجاري في مجمع 305"))
    await runtime.intake.save(
        message("1852", "طَفْحُ مجاري في مُجمّع ٣٠٥", channel="x", phone="+97339998877")
    )
    primary, duplicate = await tickets(runtime)
    assert duplicate.primary_ticket_id == primary.id
    assert duplicate.reference != primary.reference
    assert duplicate.department_id == primary.department_id
    kinds = [(e[0], e[3]) for e in await events(runtime)]
    assert (duplicate.id, "linked_duplicate") in kinds
    assert (primary.id, "duplicate_reported") in kinds


async def test_a_reply_joins_the_ticket_it_answers(runtime: Runtime) -> None:
    await runtime.intake.save(message("E1", "حفرة في الشارع", channel="email"))
    await runtime.intake.save(
        message("E2", "أي جديد؟", channel="email", minutes=60, in_reply_to=["E1"])
    )
    [ticket] = await tickets(runtime)
    async with runtime.db.session() as session:
        ids = (await session.execute(select(Message.ticket_id))).scalars().all()
    assert ids == [ticket.id, ticket.id]


async def test_a_quoted_reference_joins_only_for_the_same_citizen(runtime: Runtime) -> None:
    await runtime.intake.save(message("SM1", "انقطاع الإنارة في مجمع 338"))
    await runtime.intake.save(message("SM2", "بخصوص qn-2026-000001 ما صار شي", minutes=5))
    await runtime.intake.save(
        message("SM3", "عندي نفس المشكلة QN-2026-000001", phone="+97336660000", minutes=9)
    )
    found = await tickets(runtime)
    assert [t.reference for t in found] == ["QN-2026-000001", "QN-2026-000002"]
    async with runtime.db.session() as session:
        joined = (await session.execute(select(Message.ticket_id).order_by(Message.id))).all()
    assert [row[0] for row in joined] == [found[0].id, found[0].id, found[1].id]


@pytest.fixture
def poisoned(monkeypatch: pytest.MonkeyPatch) -> None:
    """Normalizing a message that says "poison" raises, as a broken stage would."""
    real = batch.normalize

    def explode(inbound: Inbound, *, region: str) -> Any:
        if "poison" in inbound.text:
            raise RuntimeError("stage exploded on purpose")
        return real(inbound, region=region)

    monkeypatch.setattr(batch, "normalize", explode)


@pytest.mark.usefixtures("poisoned")
async def test_a_failing_stage_dead_letters_after_the_attempts_and_the_next_goes_on(
    runtime: Runtime,
) -> None:
    bad = await runtime.intake.save(message("SM1", "poison"))
    good = await runtime.intake.save(message("SM2", "حفرة في طريق 12"))
    async with runtime.db.session() as session:
        dead = await session.get(Message, bad.message_id)
        fine = await session.get(Message, good.message_id)
        dead_events = (
            await session.execute(
                select(func.count()).where(Event.type == "dead_lettered")  # type: ignore[arg-type]
            )
        ).scalar_one()
    assert dead is not None and dead.state == "dead_letter"
    assert dead.attempts == runtime.settings.max_attempts
    assert dead.state_reason == "RuntimeError: stage exploded on purpose"
    assert dead.ticket_id is None and dead_events == 1
    assert fine is not None and fine.state == "processed" and fine.ticket_id is not None


async def test_an_archive_import_keeps_department_and_status(runtime: Runtime) -> None:
    archived = message("OLD1", "شكوى قديمة", department="parks", status="resolved", kind="request")
    await runtime.intake.save(archived)
    [ticket] = await tickets(runtime)
    assert ticket.status == "resolved" and ticket.kind == "request"
    assert ticket.resolved_at == archived.received_at
    async with runtime.db.session() as session:
        from qanat.store import queries

        departments = await queries.department_ids(session)
    assert ticket.department_id == departments["parks"]


async def test_the_store_away_is_a_retry_that_counts_no_try(runtime: Runtime) -> None:
    from types import SimpleNamespace

    from qanat.store.db import Database

    away = Database.from_url("postgresql://postgres@127.0.0.1:1/qanat")
    deps = SimpleNamespace(
        settings=runtime.settings,
        db=away,
        dedupe=runtime.dedupe,
        rules=runtime.rules,
        learned_model=runtime.learned_model,
    )
    try:
        outcome = await pipeline.process_message(deps, 1)  # type: ignore[arg-type]
        batch = await pipeline.process_batch(deps, [2, 1])  # type: ignore[arg-type]
    finally:
        await away.dispose()
    assert outcome.result == pipeline.Result.retry and "unavailable" in outcome.detail
    assert [(o.message_id, o.result) for o in batch] == [(2, "retry"), (1, "retry")]


async def test_a_failure_that_cannot_be_recorded_is_retried(
    runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    from sqlalchemy.exc import OperationalError

    async def broken_stage(run: object, message_ids: list[int]) -> None:
        raise ValueError("a stage bug")

    async def store_gone(*args: object) -> None:
        raise OperationalError("UPDATE message", {}, ConnectionResetError())

    monkeypatch.setattr(batch, "_process_all", broken_stage)
    monkeypatch.setattr(batch, "_record_failure", store_gone)
    outcome = await pipeline.process_message(runtime, 1)
    assert outcome.result == pipeline.Result.retry


async def saved_only(runtime: Runtime, *inbounds: Inbound) -> list[int]:
    """Commit messages without processing them (as a worker finds them queued)."""
    from qanat.store import queries

    ids = []
    for inbound in inbounds:
        async with runtime.db.writing() as session:
            ids.append((await queries.save_message(session, inbound=inbound))[0])
    return ids


async def test_a_batch_sees_the_tickets_its_earlier_messages_opened(runtime: Runtime) -> None:
    """One transaction for three messages: the second citizen's report of the same
    problem links to the first's new ticket, the first citizen's next SMS joins it, and
    the outcomes come back in the order asked."""
    first, duplicate, follow_up = await saved_only(
        runtime,
        message("SM1", "طفح مجاري في مجمع 305"),
        message("1852", "طَفْحُ مجاري في مُجمّع ٣٠٥", channel="x", phone="+97339998877", minutes=1),
        message("SM2", "وصلت المياه الى البيت", minutes=2),
    )
    outcomes = await pipeline.process_batch(runtime, [follow_up, first, duplicate])
    assert [o.message_id for o in outcomes] == [follow_up, first, duplicate]
    assert [o.result for o in outcomes] == ["follow_up", "created", "duplicate"]
    primary, linked = await tickets(runtime)
    assert linked.primary_ticket_id == primary.id
    assert outcomes[0].ticket_id == primary.id


@pytest.mark.usefixtures("poisoned")
async def test_a_batch_with_a_failing_message_processes_the_others(runtime: Runtime) -> None:
    good, bad, other = await saved_only(
        runtime,
        message("SM1", "حفرة في طريق 12"),
        message("SM2", "poison", phone="+97333000002"),
        message("SM3", "انقطاع الإنارة في مجمع 338", phone="+97333000003"),
    )
    outcomes = await pipeline.process_batch(runtime, [good, bad, other])
    assert [o.result for o in outcomes] == ["created", "retry", "created"]
    async with runtime.db.session() as session:
        failed = await session.get(Message, bad)
    assert failed is not None and failed.attempts == 1 and failed.state == "received"
    assert len(await tickets(runtime)) == 2


async def test_a_batch_of_messages_already_processed_changes_nothing(runtime: Runtime) -> None:
    saved = await runtime.intake.save(message("SM1", "عمود إنارة طايح في طريق 12"))
    before = await events(runtime)
    outcomes = await pipeline.process_batch(runtime, [saved.message_id, saved.message_id, 999])
    assert [o.result for o in outcomes] == ["skipped", "skipped", "skipped"]
    assert await events(runtime) == before


async def test_a_department_another_process_adds_during_a_batch_is_found(
    runtime: Runtime,
) -> None:
    from qanat.pipeline.run import Run, department_id_of
    from qanat.store import queries
    from qanat.store.db import Database
    from qanat.store.tables import Department

    other = Database.from_url(runtime.settings.database_url)
    try:
        # A reading session: on SQLite the other process's write must not wait on it.
        async with runtime.db.session() as session:
            run = Run(session, runtime.settings, runtime.rules(), None, runtime.dedupe)
            run.departments.extend(await queries.departments(session))
            roads = await department_id_of(run, "roads")
            assert roads is not None and await department_id_of(run, "night_markets") is None
            async with other.writing() as elsewhere:
                elsewhere.add(
                    Department(
                        code="night_markets", name_en="Night markets", name_ar="الأسواق الليلية"
                    )
                )
            assert await department_id_of(run, "night_markets") is not None  # read again once
            assert await department_id_of(run, "roads") == roads
            assert await department_id_of(run, None) is None
    finally:
        await other.dispose()
