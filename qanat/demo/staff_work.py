"""What the demo's staff did with the tickets, played at the times they did it.

:func:`plan` is pure: from the tickets (oldest first) and the time now it says who took,
answered, noted, raised, put on hold or resolved which ticket, and when — always before
now, so the inbox tells a live story on any day: recent tickets answered or waiting,
older ones resolved, some left past their deadline, a few waiting on the citizen.
:func:`play` does it through the same store actions and reply queue staff use, each
step stamped with its own time; a step already played is not played twice.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlmodel import col, select

from qanat.outbound.replies import mark_delivered, queue_reply, send_queued
from qanat.router.pauses import recount_clocks
from qanat.runtime import Runtime
from qanat.store import actions, queries, staff
from qanat.store.canned import canned
from qanat.store.tables import Event, Ticket, User, stamped_at

#: Who works each department's tickets in the demo (anything else: the admin).
WORKS = {"sewage": "agent", "roads": "roads"}
NOTES = (
    "زار المفتش الموقع وأكد البلاغ؛ أُحيل إلى فريق الصيانة.",
    "Contractor informed; crew booked for the next working day.",
    "تواصلنا مع المواطن هاتفيًا وأكد العنوان.",
    "Same location reported last month — checking whether the earlier repair failed.",
)


@dataclass(frozen=True)
class TicketSeen:
    """What the plan needs of a ticket."""

    reference: str
    department: str | None
    created_at: datetime
    priority: str
    duplicate: bool


@dataclass(frozen=True)
class Step:
    """One thing a member of staff did: ``take``, ``reply``, ``note``, ``pending``,
    ``resolve`` or ``priority``, on a ticket, at a time."""

    reference: str
    at: datetime
    username: str
    action: str
    text: str = ""


def _steps_for(index: int, ticket: TicketSeen, now: datetime) -> list[Step]:
    """The steps of the ``index``-th primary ticket, whether or not their time has come."""
    who = WORKS.get(ticket.department or "", "admin")
    start, ref = ticket.created_at, ticket.reference
    steps = []
    if ticket.department in WORKS:
        steps.append(Step(ref, start + timedelta(minutes=50), who, "take"))
    if ticket.department == "sewage" and ticket.priority == "high" and index % 4 == 1:
        steps.append(Step(ref, start + timedelta(minutes=35), "supervisor", "priority", "urgent"))
    if index % 6 != 5:  # every sixth ticket still waits for its first answer
        steps.append(Step(ref, start + timedelta(hours=1, minutes=30), who, "reply", "received"))
    if index % 5 == 2:
        steps.append(Step(ref, start + timedelta(hours=20), who, "note", NOTES[index % 4]))
    if index % 9 == 4:
        steps.append(Step(ref, start + timedelta(hours=26), who, "reply", "need_location"))
        steps.append(Step(ref, start + timedelta(hours=26, minutes=5), who, "pending"))
    elif now - start > timedelta(days=3) and index % 4 != 0:
        done = start + timedelta(days=1 + index % 3, hours=3)
        steps.append(Step(ref, done, who, "reply", "resolved"))
        steps.append(Step(ref, done + timedelta(minutes=5), who, "resolve"))
    return steps


def plan(tickets: list[TicketSeen], now: datetime) -> list[Step]:
    """Every step whose time has come, in time order (``tickets`` oldest first)."""
    primaries = [ticket for ticket in tickets if not ticket.duplicate]
    steps = [
        step
        for index, ticket in enumerate(primaries)
        for step in _steps_for(index, ticket, now)
        if step.at < now
    ]
    return sorted(steps, key=lambda step: step.at)


async def tickets_seen(runtime: Runtime) -> list[TicketSeen]:
    """The store's tickets, oldest first, as the plan sees them."""
    async with runtime.db.session() as session:
        codes = {v: k for k, v in (await queries.department_ids(session)).items()}
        rows = await session.execute(
            select(Ticket).order_by(col(Ticket.created_at), col(Ticket.id))
        )
        return [
            TicketSeen(
                reference=t.reference,
                department=codes.get(t.department_id) if t.department_id else None,
                created_at=t.created_at,
                priority=t.priority,
                duplicate=t.primary_ticket_id is not None,
            )
            for t in rows.scalars()
        ]


async def _played(runtime: Runtime, ticket_id: int, actor: str, at: datetime) -> bool:
    async with runtime.db.session() as session:
        found = await session.execute(
            select(Event.id)
            .where(col(Event.ticket_id) == ticket_id, col(Event.actor) == actor)
            .where(col(Event.at) == at)
            .limit(1)
        )
        return found.first() is not None


async def _reply(runtime: Runtime, step: Step, user: User) -> None:
    viewer = staff.viewer_of(user)
    async with runtime.db.writing() as session:
        ticket = await queries.ticket_by_reference(session, reference=step.reference)
        assert ticket is not None
        text = (await canned(session, step.text)).text(ticket.language)
        message_id, _reply = await queue_reply(
            session, ticket=ticket, text=text, viewer=viewer, ip=None
        )
    result = await send_queued(runtime, message_id)
    if result.state == "by_hand":  # the demo has no channel accounts: staff hand it over
        async with runtime.db.writing() as session:
            ticket = await queries.ticket_by_reference(session, reference=step.reference)
            assert ticket is not None
            await mark_delivered(
                session, viewer=viewer, ticket=ticket, message_id=message_id, ip=None
            )


async def _act(runtime: Runtime, step: Step, user: User) -> None:
    viewer = staff.viewer_of(user)
    async with runtime.db.writing() as session:
        ticket = await queries.ticket_by_reference(session, reference=step.reference)
        assert ticket is not None
        if step.action == "take":
            await actions.assign(
                session, viewer=viewer, ticket=ticket, assignee_id=viewer.user_id, ip=None
            )
        elif step.action == "note":
            await actions.add_note(session, viewer=viewer, ticket=ticket, text=step.text, ip=None)
        elif step.action == "priority":
            await actions.change(session, viewer=viewer, ticket=ticket, priority=step.text, ip=None)
            await recount_clocks(
                session,
                rules=runtime.rules(),
                tz=runtime.settings.tz,
                ticket=ticket,
                actor=viewer.actor,
                reason="priority changed",
            )
        else:  # pending, resolve
            status = "resolved" if step.action == "resolve" else "pending"
            await actions.set_status(session, viewer=viewer, ticket=ticket, status=status, ip=None)


async def play(runtime: Runtime, steps: list[Step]) -> int:
    """Do each step at its own time (skipping those done before); returns how many ran."""
    async with runtime.db.session() as session:
        users = {
            u.username: u
            for u in (await session.execute(select(User))).scalars()
            if u.username in {*WORKS.values(), "admin", "supervisor"}
        }
        ids: dict[str, int] = {
            reference: ticket_id
            for reference, ticket_id in (await session.execute(select(Ticket.reference, Ticket.id)))
        }
    done = 0
    for step in steps:
        user = users.get(step.username)
        if user is None or await _played(
            runtime, ids[step.reference], f"staff:{user.username}", step.at
        ):
            continue
        with stamped_at(step.at):
            await (_reply if step.action == "reply" else _act)(runtime, step, user)
        done += 1
    return done
