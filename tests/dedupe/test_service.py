"""Dedupe on the store, through the real pipeline: links, follow-ups, unlink, sweep, locks."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, update

from qanat.config import Settings
from qanat.dedupe import service
from qanat.model import Inbound, Location, Sender
from qanat.router.rules import load_rules
from qanat.runtime import Runtime, start_runtime, stop_runtime
from qanat.store import actions
from qanat.store.access import Viewer
from qanat.store.tables import Event, Message, Ticket, User

T0 = datetime(2026, 11, 2, 6, 0, tzinfo=UTC)
RULES = load_rules().dedupe


def report(
    n: int, channel: str, text: str, phone: str, minutes: int = 0, **extra: object
) -> Inbound:
    return Inbound(
        channel=channel,
        external_id=f"{channel}-{n}",
        received_at=T0 + timedelta(minutes=minutes),
        sender=Sender(handle=phone, phone=phone),
        text=text,
        **extra,  # type: ignore[arg-type]
    )


BURST = [
    report(1, "x", "المجاري طافحة في مجمع 305 طريق 524 جنب المخبز 😡", "+97333000001"),
    report(2, "sms", "طفح مجاري في مجمع ٣٠٥ طريق ٥٢٤ من الصبح", "+97333000002", 20),
    report(
        3,
        "call_centre",
        "Caller reports sewage overflowing on Road 524, Block 305",
        "+97333000003",
        45,
    ),
    report(
        4, "email", "Sewage water all over Road 524 Block 305, near the bakery", "+97333000004", 90
    ),
]


async def staff(runtime: Runtime, username: str = "mariam") -> Viewer:
    """A supervisor's viewer (the account is created on first use)."""
    async with runtime.db.writing() as session:
        user = (
            await session.execute(select(User).where(User.username == username))  # type: ignore[arg-type]
        ).scalar_one_or_none()
        if user is None:
            user = User(
                username=username, display_name=username, password_hash="-", role="supervisor"
            )
            session.add(user)
            await session.flush()
    assert user.id is not None
    return Viewer(user_id=user.id, username=username, display_name=username, role="supervisor")


async def tickets(runtime: Runtime) -> list[Ticket]:
    async with runtime.db.session() as session:
        return list((await session.execute(select(Ticket).order_by(Ticket.id))).scalars())


async def test_one_problem_on_four_channels_has_one_primary(runtime: Runtime) -> None:
    for inbound in BURST:
        await runtime.intake.save(inbound)
    primary, *duplicates = await tickets(runtime)
    assert primary.primary_ticket_id is None and len(duplicates) == 3
    assert {d.primary_ticket_id for d in duplicates} == {primary.id}
    assert len({t.reference for t in [primary, *duplicates]}) == 4  # each keeps a reference
    async with runtime.db.session() as session:
        link = (
            (
                await session.execute(
                    select(Event).where(Event.type == "linked_duplicate")  # type: ignore[arg-type]
                )
            )
            .scalars()
            .first()
        )
    assert link is not None and link.data["score"] >= link.data["threshold"]
    assert link.data["features"]["same_block"] is True


async def test_other_problems_in_the_same_block_stay_apart(runtime: Runtime) -> None:
    await runtime.intake.save(BURST[0])
    await runtime.intake.save(
        report(5, "sms", "الانارة طافية في طريق 518 مجمع 305", "+97333000005", 30)
    )
    await runtime.intake.save(report(6, "web", "حفرة في طريق 530 مجمع 305", "+97333000006", 60))
    assert [t.primary_ticket_id for t in await tickets(runtime)] == [None, None, None]


async def test_the_same_citizen_again_is_a_follow_up_not_a_duplicate(runtime: Runtime) -> None:
    await runtime.intake.save(BURST[0])
    again = report(7, "x", "للحين المجاري طافحة في مجمع 305 طريق 524", "+97333000001", 300)
    await runtime.intake.save(again.model_copy(update={"sender": BURST[0].sender}))
    [ticket] = await tickets(runtime)
    async with runtime.db.session() as session:
        ids = (await session.execute(select(Message.ticket_id))).scalars().all()
    assert ids == [ticket.id, ticket.id]


async def test_unlink_and_sweep(runtime: Runtime) -> None:
    for inbound in BURST[:2]:
        await runtime.intake.save(inbound)
    primary, duplicate = await tickets(runtime)
    mariam = await staff(runtime)
    async with runtime.db.writing() as session:
        row = await session.get(Ticket, duplicate.id)
        assert row is not None
        await actions.unlink_duplicate(session, viewer=mariam, ticket=row, ip=None)
    assert (await tickets(runtime))[1].primary_ticket_id is None
    async with runtime.db.writing() as session:
        linked = await service.sweep(session, since=T0 - timedelta(days=1), rules=RULES)
    assert linked == [(duplicate.reference, primary.reference)]


async def test_a_problem_back_after_it_was_resolved_is_recurring(runtime: Runtime) -> None:
    await runtime.intake.save(BURST[0])
    async with runtime.db.writing() as session:
        await session.execute(update(Ticket).values(status="resolved", resolved_at=T0))
    later = report(
        8, "sms", "طفح مجاري مرة ثانية في مجمع 305 طريق 524", "+97333000008", 60 * 24 * 20
    )
    await runtime.intake.save(later)
    first, second = await tickets(runtime)
    assert second.primary_ticket_id is None and "recurring" in second.flags
    async with runtime.db.session() as session:
        event = (
            await session.execute(
                select(Event).where(Event.type == "recurring")  # type: ignore[arg-type]
            )
        ).scalar_one()
    assert event.data["earlier"] == [first.reference]


def test_lock_scope_is_per_block() -> None:
    assert service.lock_scope(Location(block="305")) != service.lock_scope(Location(block="306"))
    assert service.lock_scope(None) == service.lock_scope(Location())


@pytest.mark.parametrize("attempt", range(3))
async def test_concurrent_workers_make_one_primary(
    empty_postgres_url: str, settings: Settings, attempt: int
) -> None:
    """Four reports of one problem processed at the same moment on PostgreSQL, by workers
    whose indexes were loaded before any of them was saved (and two loaded on first use)."""
    pg = settings.model_copy(update={"database_url": empty_postgres_url})
    workers = [await start_runtime(pg) for _ in range(4)]
    try:
        for worker in workers[:2]:  # two loaded their index at start-up, on an empty store
            async with worker.db.session() as session:
                await worker.dedupe.load(session)
        saved = []
        for inbound in BURST:
            async with workers[0].db.writing() as session:
                from qanat.store import queries

                saved.append((await queries.save_message(session, inbound=inbound))[0])
        from qanat.pipeline import process_message

        await asyncio.gather(
            *(
                process_message(worker, message_id)
                for worker, message_id in zip(workers, saved, strict=True)
            )
        )
        found = await tickets(workers[0])
    finally:
        for worker in workers:
            await stop_runtime(worker)
    primaries = [t for t in found if t.primary_ticket_id is None]
    assert len(found) == 4 and len(primaries) == 1


async def test_a_likely_but_unsure_duplicate_is_suggested_not_linked(runtime: Runtime) -> None:
    """Same block and category, other words: staff are shown the other ticket, and the
    new one stays on its own until they decide."""
    await runtime.intake.save(
        report(8, "sms", "القمامة متراكمة في مجمع 609 سترة من أسبوع", "+97333000008")
    )
    await runtime.intake.save(
        report(9, "x", "الزبالة في مجمع 609 ما انشالت من أسبوع", "+97333000009", 60)
    )
    first, second = await tickets(runtime)
    assert second.primary_ticket_id is None
    assert "possible_duplicate" in second.flags
    async with runtime.db.session() as session:
        suggested = (
            (
                await session.execute(
                    select(Event).where(Event.type == "duplicate_suggested")  # type: ignore[arg-type]
                )
            )
            .scalars()
            .one()
        )
    assert suggested.ticket_id == second.id
    assert suggested.data["primary_reference"] == first.reference
    assert RULES.suggest_for(None) <= suggested.data["score"] < suggested.data["threshold"]
    assert suggested.data["features"]["where"] == "block"
