"""A worker's index and the store: what other workers did reaches it before it decides."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from qanat.config import Settings
from qanat.dedupe import service
from qanat.dedupe.live import GAP_SECONDS, LiveIndex
from qanat.dedupe.similarity import Report
from qanat.model import Inbound, Sender
from qanat.normalize.text import match_form
from qanat.router.rules import load_rules
from qanat.runtime import Runtime, start_runtime, stop_runtime
from qanat.store import queries
from qanat.store.db import Database
from qanat.store.tables import Event, Ticket

T0 = datetime(2026, 11, 2, 6, 0, tzinfo=UTC)
RULES = load_rules().dedupe


def sms(n: int, text: str, minutes: int = 0) -> Inbound:
    phone = f"+9733300{n:04d}"
    return Inbound(
        channel="sms",
        external_id=f"sms-{n}",
        received_at=T0 + timedelta(minutes=minutes),
        sender=Sender(handle=phone, phone=phone),
        text=text,
    )


OVERFLOW = "طفح مجاري في مجمع 305 طريق 524"
AGAIN = "Sewage overflowing on Road 524, Block 305"


async def all_tickets(runtime: Runtime) -> list[Ticket]:
    async with runtime.db.session() as session:
        return list((await session.execute(select(Ticket).order_by(Ticket.id))).scalars())


async def add_ticket(session: AsyncSession, reference: str, text: str, **values: object) -> Ticket:
    """An open primary of block 305 and its "created" event, as the pipeline leaves them."""
    place: dict[str, object] = {"block": "305", "road": "524", "category": "sewage_overflow"}
    ticket = Ticket(
        reference=reference,
        kind="complaint",
        status="open",
        channel="sms",
        match_text=match_form(text),
        created_at=T0,
        **(place | values),  # type: ignore[arg-type]
    )
    session.add(ticket)
    await session.flush()
    await queries.add_event(session, actor="pipeline", type="created", ticket_id=ticket.id)
    await session.flush()  # the event takes its id now, as the pipeline's next query makes it
    return ticket


def report(text: str = AGAIN, minutes: int = 60) -> Report:
    return Report(
        match_text=match_form(text),
        created_at=T0 + timedelta(minutes=minutes),
        block="305",
        road="524",
        category="sewage_overflow",
    )


async def test_a_worker_links_to_a_ticket_another_worker_opened_after_it_loaded(
    runtime: Runtime, settings: Settings
) -> None:
    async with runtime.db.session() as session:
        await runtime.dedupe.load(session)  # this worker's start-up: an empty store
    other = await start_runtime(settings)
    try:
        await other.intake.save(sms(1, OVERFLOW))  # processed by the other worker
    finally:
        await stop_runtime(other)
    assert len(runtime.dedupe.index) == 0
    await runtime.intake.save(sms(2, AGAIN, 30))
    first, second = await all_tickets(runtime)
    assert second.primary_ticket_id == first.id
    assert first.id in runtime.dedupe.index and second.id not in runtime.dedupe.index


async def test_resolved_tickets_drop_out_and_unlinked_duplicates_come_back(
    runtime: Runtime,
) -> None:
    live = LiveIndex()
    async with runtime.db.writing() as session:
        primary = await add_ticket(session, "QN-2026-000001", OVERFLOW)
        duplicate = await add_ticket(session, "QN-2026-000002", AGAIN)
        duplicate.primary_ticket_id = primary.id
        await queries.add_event(
            session, actor="dedupe", type="linked_duplicate", ticket_id=duplicate.id
        )
    async with runtime.db.session() as session:
        await live.load(session)
    assert primary.id in live.index and duplicate.id not in live.index
    async with runtime.db.writing() as session:
        await session.execute(
            update(Ticket).where(Ticket.id == primary.id).values(status="resolved")
        )  # type: ignore[arg-type]
        await session.execute(
            update(Ticket).where(Ticket.id == duplicate.id).values(primary_ticket_id=None)
        )  # type: ignore[arg-type]
        for ticket_id, kind in (
            (primary.id, "status_changed"),
            (duplicate.id, "unlinked_duplicate"),
        ):
            await queries.add_event(session, actor="staff:mariam", type=kind, ticket_id=ticket_id)
    async with runtime.db.session() as session:
        assert await live.catch_up(session) == 2
    assert primary.id not in live.index and duplicate.id in live.index


async def test_a_winner_changed_without_an_event_is_checked_in_the_store(
    runtime: Runtime,
) -> None:
    live = LiveIndex()
    async with runtime.db.writing() as session:
        ticket = await add_ticket(session, "QN-2026-000001", OVERFLOW)
    async with runtime.db.writing() as session:
        await live.catch_up(session)  # under the place's lock, as the pipeline does
        found, primary = await service.find_duplicate(session, live=live, new=report(), rules=RULES)
    assert primary is not None and found.primary_ticket_id == ticket.id
    async with runtime.db.writing() as session:  # closed behind the index's back
        await session.execute(update(Ticket).values(status="closed"))
    async with runtime.db.writing() as session:
        await live.catch_up(session)  # under the place's lock, as the pipeline does
        found, primary = await service.find_duplicate(session, live=live, new=report(), rules=RULES)
    assert primary is None and found.primary_ticket_id is None
    assert ticket.id not in live.index


async def test_an_event_id_skipped_while_its_transaction_ran_is_read_when_it_commits(
    empty_postgres_url: str,
) -> None:
    """PostgreSQL hands out ids before commit: a late commit is found through its gap."""
    database = Database.from_url(empty_postgres_url)
    live = LiveIndex()
    try:
        async with database.session() as session:
            await live.load(session)
        async with database.sessions() as slow, slow.begin():
            late = await add_ticket(slow, "QN-2026-000001", OVERFLOW)  # uncommitted, lower ids
            async with database.writing() as quick:
                early = await add_ticket(quick, "QN-2026-000002", AGAIN, block="306")
            async with database.session() as session:
                await live.catch_up(session)
            assert early.id in live.index and late.id not in live.index
            assert live.gaps  # the slow transaction's ids
        async with database.session() as session:
            await live.catch_up(session)
        assert late.id in live.index and not live.gaps
    finally:
        await database.dispose()


async def test_a_gap_is_given_up_after_a_while(runtime: Runtime) -> None:
    """A rolled-back transaction leaves an id that never comes: it is read for a while only."""
    now = [0.0]
    live = LiveIndex(clock=lambda: now[0])
    async with runtime.db.session() as session:
        await live.load(session)
    async with runtime.db.writing() as session:
        session.add_all([Event(id=n, actor="test", type="noted") for n in (1, 2, 4)])
    async with runtime.db.session() as session:
        await live.catch_up(session)
        assert set(live.gaps) == {3}
        now[0] = GAP_SECONDS + 1
        await live.catch_up(session)
    assert live.gaps == {} and live.last_event_id == 4
