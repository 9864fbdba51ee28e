"""The SLA clock stops while a ticket waits on the citizen and resumes on their reply."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from sqlmodel import col, select

from qanat.model import Inbound, Sender
from qanat.router.sla import pauses_from
from qanat.runtime import Runtime
from qanat.store import actions
from qanat.store.staff import viewer_of
from qanat.store.tables import Event, Ticket, User
from qanat.web import work

BAHRAIN = ZoneInfo("Asia/Bahrain")
PHONE = "+97333123456"


def at(month: int, day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=BAHRAIN)


def sms(external_id: str, text: str, when: datetime) -> Inbound:
    return Inbound(
        channel="sms",
        external_id=external_id,
        received_at=when,
        sender=Sender(handle=PHONE, phone=PHONE),
        text=text,
    )


async def the_ticket(runtime: Runtime) -> Ticket:
    async with runtime.db.session() as session:
        return (await session.execute(select(Ticket))).scalar_one()


async def supervisor(runtime: Runtime) -> work.Request:
    async with runtime.db.writing() as session:
        user = User(username="sup", display_name="sup", password_hash="-", role="admin")
        session.add(user)
        await session.flush()
        return work.Request(viewer=viewer_of(user))


async def test_a_pause_over_a_holiday_and_a_weekend_moves_every_clock(runtime: Runtime) -> None:
    # Tuesday 15 December, 08:00: a pothole (roads, normal: 8 h to respond, 40 h to
    # resolve, 07:00–14:15 Sunday to Thursday; 16–17 December are National Day).
    await runtime.intake.save(sms("SM1", "حفرة كبيرة في طريق 12", at(12, 15, 8)))
    ticket = await the_ticket(runtime)
    assert ticket.first_response_due_at == at(12, 20, 8, 45)  # 6¼ h Tue, 1¾ h Sun
    assert ticket.sla_due_at == at(12, 24, 11, 45)
    assert ticket.sla_warn_at == at(12, 23, 11)  # 80 % of 40 h = 32 h
    async with runtime.db.writing() as session:
        stored = await session.get(Ticket, ticket.id)
        assert stored is not None
        actions.apply_status(stored, "pending", at=at(12, 15, 10))  # staff asked for photos
    # The citizen answers on Sunday 20 December at 09:00, quoting the reference.
    await runtime.intake.save(sms("SM2", "بخصوص QN-2026-000001 الصور مرفقة", at(12, 20, 9)))
    ticket = await the_ticket(runtime)
    assert ticket.status == "open" and ticket.sla_paused_at is None
    assert pauses_from(ticket.sla_pauses) == [(at(12, 15, 10), at(12, 20, 9))]
    # 2 h ran before the pause; Sunday 09:00–14:15 gives 5¼ h more.
    assert ticket.first_response_due_at == at(12, 21, 7, 45)
    assert ticket.first_response_warn_at == at(12, 20, 13, 24)  # 6.4 h
    assert ticket.sla_due_at == at(12, 27, 10, 45)
    assert ticket.sla_warn_at == at(12, 24, 10)
    async with runtime.db.session() as session:
        [resumed] = (
            await session.execute(select(Event.data).where(col(Event.type) == "sla_resumed"))
        ).scalars()
    assert resumed["sla_due_at"] == ticket.sla_due_at.isoformat()


async def test_urgent_clocks_pause_too(runtime: Runtime) -> None:
    # Urgent work runs on a continuous clock (12 h to resolve), and still pauses.
    await runtime.intake.save(sms("SM1", "فتحة مجاري مكشوفة بدون غطاء", at(12, 18, 20)))
    ticket = await the_ticket(runtime)
    assert ticket.priority == "urgent" and ticket.sla_due_at == at(12, 19, 8)
    async with runtime.db.writing() as session:
        stored = await session.get(Ticket, ticket.id)
        assert stored is not None
        actions.apply_status(stored, "pending", at=at(12, 18, 22))
    await runtime.intake.save(sms("SM2", "QN-2026-000001 الحين الغطا طاح زيادة", at(12, 19, 1)))
    assert (await the_ticket(runtime)).sla_due_at == at(12, 19, 11)  # 3 h later


async def test_staff_reopening_a_pending_ticket_resumes_its_clock(runtime: Runtime) -> None:
    await runtime.intake.save(sms("SM1", "حفرة كبيرة في طريق 12", at(12, 15, 8)))
    who = await supervisor(runtime)
    await work.update(runtime, who, "QN-2026-000001", status="pending")
    paused = await the_ticket(runtime)
    assert paused.sla_paused_at is not None and paused.sla_pauses == []
    await work.update(runtime, who, "QN-2026-000001", status="open")
    resumed = await the_ticket(runtime)
    assert resumed.sla_paused_at is None and len(resumed.sla_pauses) == 1
    async with runtime.db.session() as session:
        types = list((await session.execute(select(Event.type).order_by(col(Event.id)))).scalars())
    assert types[-2:] == ["status_changed", "sla_resumed"]
    # A pause never brings a deadline closer.
    assert resumed.sla_due_at is not None and paused.sla_due_at is not None
    assert resumed.sla_due_at >= paused.sla_due_at


async def recount_events(runtime: Runtime) -> list[dict[str, object]]:
    async with runtime.db.session() as session:
        statement = select(Event.data).where(col(Event.type) == "sla_recounted")
        return list((await session.execute(statement.order_by(col(Event.id)))).scalars())


async def test_a_new_priority_and_a_transfer_bring_their_own_sla(runtime: Runtime) -> None:
    # Tuesday 15 December, 08:00: a pothole, roads, normal (8 h to respond, 40 h to resolve).
    await runtime.intake.save(sms("SM1", "حفرة كبيرة في طريق 12", at(12, 15, 8)))
    who = await supervisor(runtime)
    normal = await the_ticket(runtime)
    assert normal.first_response_due_at == at(12, 20, 8, 45)
    assert normal.sla_due_at == at(12, 24, 11, 45)
    # High (4 h / 16 h on working time): 4 h on Tuesday; 6¼ h Tuesday, then (16–17 are
    # National Day, Friday and Saturday off) 7¼ h Sunday and 2½ h Monday.
    await work.update(runtime, who, "QN-2026-000001", priority="high")
    high = await the_ticket(runtime)
    assert high.first_response_due_at == at(12, 15, 12)
    assert high.sla_due_at == at(12, 21, 9, 30)
    # Sewage has its own row for high complaints (2 h / 8 h): counted from the first
    # message, not from the transfer.
    await work.transfer(runtime, who, "QN-2026-000001", "sewage", "it is a drain, not a pothole")
    sewage = await the_ticket(runtime)
    assert sewage.first_response_due_at == at(12, 15, 10)
    assert sewage.sla_due_at == at(12, 20, 8, 45)
    assert sewage.sla_warn_at == at(12, 20, 7, 9)  # 80 % of 8 h: 6¼ h Tuesday, 9 min Sunday
    first, second = await recount_events(runtime)
    assert first["reason"] == "complaint, high"
    assert first["before"] == {
        "first_response_due_at": normal.first_response_due_at.isoformat(),
        "sla_due_at": normal.sla_due_at.isoformat(),
    }
    assert second["reason"] == "transferred to sewage"
    assert second["sla_due_at"] == sewage.sla_due_at.isoformat()


async def test_a_change_that_keeps_the_sla_moves_nothing(runtime: Runtime) -> None:
    await runtime.intake.save(sms("SM1", "حفرة كبيرة في طريق 12", at(12, 15, 8)))
    who = await supervisor(runtime)
    before = await the_ticket(runtime)
    # Normal and suggestion fall on the same "*" row: the same due times, no event.
    await work.update(runtime, who, "QN-2026-000001", kind="suggestion")
    after = await the_ticket(runtime)
    assert after.kind == "suggestion" and after.sla_due_at == before.sla_due_at
    assert await recount_events(runtime) == []
