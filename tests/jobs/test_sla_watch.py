"""Warnings before an SLA deadline, escalation after it: once each, as events and mail."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from datetime import datetime
from email import message_from_bytes, policy
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import col, select

from qanat.jobs import sla_watch
from qanat.jobs.sla_watch import check_sla
from qanat.model import Inbound, Sender
from qanat.outbound.staff_mail import notify_staff
from qanat.runtime import Runtime
from qanat.store import actions, queries
from qanat.store.tables import Event, Ticket, User
from tests.support.mail_server import OutsideWorld, mail_server

BAHRAIN = ZoneInfo("Asia/Bahrain")
SEWAGE = "sewage@works.example.bh"  # the sample rules' escalation address


def at(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 11, day, hour, minute, tzinfo=BAHRAIN)


@pytest.fixture
async def relay(runtime: Runtime) -> AsyncIterator[OutsideWorld]:
    """The body's mail relay, configured as the email account staff mail leaves through."""
    async with mail_server() as (world, port):
        smtp = {"host": "127.0.0.1", "port": port, "starttls": False}
        runtime.accounts["email"] = [
            {"account": "office", "smtp": {**smtp, "from_address": "qanat@works.example.bh"}}
        ]
        yield world


async def sewage_ticket(runtime: Runtime, *, assignee_email: str | None = None) -> int:
    """Monday 2 November, 08:00: sewage overflow (high: respond in 2 h, resolve in 8 h)."""
    async with runtime.db.writing() as session:
        department = (await queries.department_ids(session))["sewage"]
        session.add(
            User(
                username="sup",
                display_name="sup",
                password_hash="-",
                role="supervisor",
                department_id=department,
                email="head.sewage@works.example.bh",
            )
        )
        agent = User(
            username="agent",
            display_name="agent",
            password_hash="-",
            role="agent",
            department_id=department,
            email=assignee_email,
        )
        session.add(agent)
    sms = Inbound(
        channel="sms",
        external_id="SM1",
        received_at=at(2, 8),
        sender=Sender(handle="+97333123456", phone="+97333123456"),
        text="طفح مجاري في مجمع 305 طريق 45",
    )
    await runtime.intake.save(sms)
    async with runtime.db.writing() as session:
        ticket = (await session.execute(select(Ticket))).scalar_one()
        ticket.assignee_id = agent.id if assignee_email else None
        assert ticket.id is not None
        return ticket.id


def mailed(world: OutsideWorld) -> list[tuple[list[str], str, str]]:
    found = []
    for _sender, recipients, raw in world.received:
        mail = message_from_bytes(raw, policy=policy.default)
        body = mail.get_body()
        found.append((sorted(recipients), str(mail["Subject"]), body.get_content() if body else ""))
    return found


async def sla_events(runtime: Runtime) -> list[tuple[str, str]]:
    async with runtime.db.session() as session:
        rows = await session.execute(
            select(Event.type, Event.data)
            .where(col(Event.type).in_(["sla_warning", "sla_escalated"]))
            .order_by(col(Event.id))
        )
        return [(kind, data["clock"]) for kind, data in rows]


async def test_a_warning_then_an_escalation_each_once(
    runtime: Runtime, relay: OutsideWorld
) -> None:
    await sewage_ticket(runtime, assignee_email="agent.sewage@works.example.bh")
    assert await check_sla(runtime, now=at(2, 9, 30)) == []  # 1.5 h: nothing yet
    [warning] = await check_sla(runtime, now=at(2, 9, 40))  # 80 % of 2 h is 09:36
    assert (warning.type, warning.clock, warning.due_at) == (
        "sla_warning",
        "first_response",
        at(2, 10),
    )
    assert await check_sla(runtime, now=at(2, 9, 50)) == []  # told once
    [breach] = await check_sla(runtime, now=at(2, 10, 5))
    assert breach.type == "sla_escalated" and breach.to == (
        SEWAGE,
        "head.sewage@works.example.bh",
        "agent.sewage@works.example.bh",
    )
    # Resolution: 8 business hours from Monday 08:00 end on Tuesday at 08:45.
    alerts = await check_sla(runtime, now=at(3, 8, 50))
    assert [(a.type, a.clock) for a in alerts] == [("sla_escalated", "resolution")]
    assert await sla_events(runtime) == [
        ("sla_warning", "first_response"),
        ("sla_escalated", "first_response"),
        ("sla_escalated", "resolution"),
    ]
    mails = mailed(relay)
    assert [m[0] for m in mails] == [
        ["agent.sewage@works.example.bh"],
        sorted([SEWAGE, "head.sewage@works.example.bh", "agent.sewage@works.example.bh"]),
        sorted([SEWAGE, "head.sewage@works.example.bh", "agent.sewage@works.example.bh"]),
    ]
    assert "SLA warning" in mails[0][1] and "SLA breached" in mails[1][1]
    assert "QN-2026-000001  sewage" in mails[1][2] and "2026-11-02 10:00" in mails[1][2]


async def test_a_ticket_pending_on_the_citizen_is_not_escalated(
    runtime: Runtime, relay: OutsideWorld
) -> None:
    ticket_id = await sewage_ticket(runtime)
    async with runtime.db.writing() as session:
        ticket = await session.get(Ticket, ticket_id)
        assert ticket is not None
        actions.apply_status(ticket, "pending", at=at(2, 8, 30))
    assert await check_sla(runtime, now=at(4, 12)) == []
    assert relay.received == []


async def test_a_moved_deadline_is_announced_again(runtime: Runtime, relay: OutsideWorld) -> None:
    ticket_id = await sewage_ticket(runtime)
    [warning] = await check_sla(runtime, now=at(2, 9, 40))
    assert warning.to == (SEWAGE,)  # nobody has it: the department's address
    async with runtime.db.writing() as session:
        ticket = await session.get(Ticket, ticket_id)
        assert ticket is not None
        ticket.first_response_due_at = at(2, 12)  # as a pause would move it
        ticket.first_response_warn_at = at(2, 11, 36)
    assert await check_sla(runtime, now=at(2, 10, 5)) == []  # the old deadline is gone
    [again] = await check_sla(runtime, now=at(2, 11, 40))
    assert again.type == "sla_warning" and again.due_at == at(2, 12)


async def test_without_mail_configured_only_the_events_remain(runtime: Runtime) -> None:
    await sewage_ticket(runtime)
    assert runtime.accounts.get("email") is None
    [warning] = await check_sla(runtime, now=at(2, 9, 40))
    assert await sla_events(runtime) == [("sla_warning", "first_response")]
    assert not await notify_staff(runtime, [SEWAGE], "test", "text")
    assert warning.to == (SEWAGE,)


async def test_a_relay_that_refuses_is_logged_not_raised(
    runtime: Runtime, relay: OutsideWorld, caplog: pytest.LogCaptureFixture
) -> None:
    relay.rcpt_answer = "550 no such mailbox"
    with caplog.at_level(logging.INFO, logger="qanat.outbound.staff_mail"):
        assert await notify_staff(runtime, ["nobody@works.example.bh"], "subject", "text")
    assert "staff mail 'subject' not sent: " in caplog.text and relay.received == []
    relay.rcpt_answer = "250 OK"
    assert await notify_staff(runtime, ["  ", "a@works.example.bh", "a@works.example.bh"], "s", "t")
    assert [m[0] for m in mailed(relay)] == [["a@works.example.bh"]]


async def test_pages_of_overdue_tickets_are_announced_once_then_not_read_again(
    runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sla_watch, "_BATCH", 2)  # four tickets due (one pending): two pages
    pages: list[int] = []
    announce = sla_watch._announce_page

    async def counted(session: Any, page: list[Any], *rest: Any) -> Any:
        pages.append(len(page))
        return await announce(session, page, *rest)

    monkeypatch.setattr(sla_watch, "_announce_page", counted)
    async with runtime.db.writing() as session:
        for number in range(1, 6):
            session.add(
                Ticket(
                    reference=f"QN-2026-{number:06d}",
                    kind="complaint",
                    status="open" if number != 3 else "pending",
                    channel="sms",
                    created_at=at(2, 8),
                    first_response_at=at(2, 9) if number == 5 else None,
                    first_response_due_at=at(2, 10),
                    first_response_warn_at=at(2, 9, 36),
                    sla_due_at=at(2, 16),
                    sla_warn_at=at(2, 14, 24),
                )
            )
    alerts = await check_sla(runtime, now=at(2, 15))
    assert pages == [2, 2]  # read a page at a time, never the whole table
    assert sorted((a.reference, a.type, a.clock) for a in alerts) == [
        ("QN-2026-000001", "sla_escalated", "first_response"),
        ("QN-2026-000001", "sla_warning", "resolution"),
        ("QN-2026-000002", "sla_escalated", "first_response"),
        ("QN-2026-000002", "sla_warning", "resolution"),
        ("QN-2026-000004", "sla_escalated", "first_response"),
        ("QN-2026-000004", "sla_warning", "resolution"),
        ("QN-2026-000005", "sla_warning", "resolution"),
    ]
    async with runtime.db.session() as session:
        assert (await session.execute(sla_watch.candidates(at(2, 15, 30)))).all() == []
        assert len((await session.execute(sla_watch.candidates(at(2, 16), limit=9))).all()) == 4
    assert await check_sla(runtime, now=at(2, 15, 30)) == []
    later = await check_sla(runtime, now=at(2, 16))
    assert sorted((a.reference, a.type) for a in later) == [
        (f"QN-2026-{n:06d}", "sla_escalated") for n in (1, 2, 4, 5)
    ]
    assert len(await sla_events(runtime)) == 11
