"""What staff do to tickets: assign, transfer, change, note, link / unlink, retry.

Each action runs in the caller's write transaction and leaves an event (the ticket's
history, which the router learns from) and an audit row (who did it, from where).
Bad requests raise :class:`~qanat.errors.BadPayload` with the reason.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from qanat.errors import BadPayload, NotFound
from qanat.model import OPEN_STATUSES, Kind, Priority, ProcessingState, TicketStatus
from qanat.store import audit, links, queries
from qanat.store.access import Viewer
from qanat.store.links import duplicates_of, move_to_department
from qanat.store.tables import Department, Event, Message, Note, Ticket, User, utcnow

#: Roles that can be given tickets.
ASSIGNABLE_ROLES = ("agent", "supervisor", "admin")
_OPEN = {s.value for s in OPEN_STATUSES}
_DONE = {TicketStatus.resolved.value, TicketStatus.closed.value}


async def record(
    session: AsyncSession,
    *,
    viewer: Viewer,
    ticket: Ticket,
    type: str,
    data: dict[str, Any],
    ip: str | None,
    message_id: int | None = None,
) -> None:
    """The event and the audit row of one change to ``ticket``."""
    await queries.add_event(
        session,
        actor=viewer.actor,
        type=type,
        ticket_id=ticket.id,
        message_id=message_id,
        data=data,
    )
    await audit.record(session, viewer=viewer, action=type, ticket_id=ticket.id, detail=data, ip=ip)
    ticket.updated_at = utcnow()
    session.add(ticket)


async def assign(
    session: AsyncSession,
    *,
    viewer: Viewer,
    ticket: Ticket,
    assignee_id: int | None,
    ip: str | None,
) -> None:
    """Give ``ticket`` to a member of staff of its department (None: nobody)."""
    if assignee_id == ticket.assignee_id:
        return
    name = None
    if assignee_id is not None:
        person = await session.get(User, assignee_id)
        if person is None or not person.active or person.role not in ASSIGNABLE_ROLES:
            raise BadPayload(f"no member of staff with id {assignee_id}")
        if person.role != "admin" and person.department_id != ticket.department_id:
            raise BadPayload(f"{person.username} does not work in the ticket's department")
        name = person.username
    data = {"from": ticket.assignee_id, "to": assignee_id, "username": name}
    ticket.assignee_id = assignee_id
    await record(session, viewer=viewer, ticket=ticket, type="assigned", data=data, ip=ip)


async def assignable_staff(session: AsyncSession, *, department_id: int | None) -> list[User]:
    """Who a ticket of ``department_id`` can be given to."""
    statement = (
        select(User)
        .where(
            col(User.active).is_(True),
            col(User.role).in_(["agent", "supervisor"]),
            col(User.department_id) == department_id,
        )
        .order_by(col(User.display_name))
    )
    return list((await session.execute(statement)).scalars())


async def transfer(
    session: AsyncSession,
    *,
    viewer: Viewer,
    ticket: Ticket,
    department: str,
    reason: str,
    ip: str | None,
) -> list[Ticket]:
    """Move ``ticket`` (and its duplicates) to another department, saying why.

    Returns the tickets moved (``ticket`` first), whose SLA the caller counts again.
    """
    if not reason.strip():
        raise BadPayload("a transfer needs a reason")
    target = (
        await session.execute(select(Department).where(col(Department.code) == department))
    ).scalar_one_or_none()
    if target is None:
        raise BadPayload(f"no department with code {department!r}")
    if target.id == ticket.department_id:
        raise BadPayload(f"the ticket is already in {department}")
    codes: dict[int | None, str] = dict(
        (await session.execute(select(Department.id, Department.code))).all()
    )
    data = {
        "from": codes.get(ticket.department_id),
        "to": department,
        "reason": reason.strip(),
        "correction": True,
    }
    tickets = [ticket, *await duplicates_of(session, ticket=ticket)]
    for moved in tickets:
        move_to_department(moved, target.id)
        await record(session, viewer=viewer, ticket=moved, type="transferred", data=data, ip=ip)
    return tickets


def _checked(value: str, allowed: type[Kind] | type[Priority] | type[TicketStatus]) -> str:
    names = [member.value for member in allowed]
    if value not in names:
        raise BadPayload(f"{value!r} is not one of {', '.join(names)}")
    return value


async def change(
    session: AsyncSession,
    *,
    viewer: Viewer,
    ticket: Ticket,
    kind: str | None = None,
    priority: str | None = None,
    ip: str | None,
) -> None:
    """Correct a ticket's kind or priority (each change is its own event)."""
    for field_name, value, allowed in (("kind", kind, Kind), ("priority", priority, Priority)):
        if value is None or value == getattr(ticket, field_name):
            continue
        data = {"field": field_name, "from": getattr(ticket, field_name), "to": value}
        setattr(ticket, field_name, _checked(value, allowed))
        await record(session, viewer=viewer, ticket=ticket, type="changed", data=data, ip=ip)


async def set_status(
    session: AsyncSession,
    *,
    viewer: Viewer,
    ticket: Ticket,
    status: str,
    ip: str | None,
    reason: str | None = None,
) -> list[Ticket]:
    """Change a ticket's status; resolving a primary resolves its open duplicates too.

    Returns the duplicates resolved with it (their reporters are told by the caller).
    """
    _checked(status, TicketStatus)
    if status == ticket.status:
        return []
    data: dict[str, Any] = {"from": ticket.status, "to": status}
    if reason:
        data["reason"] = reason
    apply_status(ticket, status)
    await record(session, viewer=viewer, ticket=ticket, type="status_changed", data=data, ip=ip)
    if status not in _DONE:
        return []
    resolved = []
    for duplicate in await duplicates_of(session, ticket=ticket):
        if duplicate.status not in _OPEN:
            continue
        follow = {
            "from": duplicate.status,
            "to": status,
            "reason": "primary resolved",
            "primary_reference": ticket.reference,
        }
        apply_status(duplicate, status)
        await record(
            session, viewer=viewer, ticket=duplicate, type="status_changed", data=follow, ip=ip
        )
        resolved.append(duplicate)
    return resolved


def apply_status(ticket: Ticket, status: str, *, at: datetime | None = None) -> bool:
    """Set a ticket's status, its resolution time and its SLA pauses.

    Going to ``pending`` (waiting on the citizen) stops the SLA clock; leaving it keeps
    the pause on the ticket. Returns True when a pause ended, so the caller counts the
    due times again (the router knows the calendar; the store does not).
    """
    now = at or utcnow()
    ticket.status = status
    if status in _DONE:
        ticket.resolved_at = ticket.resolved_at or now
    else:
        ticket.resolved_at = None
    if status == TicketStatus.pending.value:
        ticket.sla_paused_at = ticket.sla_paused_at or now
        return False
    if ticket.sla_paused_at is None:
        return False
    pause = [ticket.sla_paused_at.isoformat(), max(now, ticket.sla_paused_at).isoformat()]
    ticket.sla_pauses = [*ticket.sla_pauses, pause]  # a new list, so the change is saved
    ticket.sla_paused_at = None
    return True


async def add_note(
    session: AsyncSession, *, viewer: Viewer, ticket: Ticket, text: str, ip: str | None
) -> Note:
    """Add an internal note (never shown to citizens or representatives)."""
    if not text.strip():
        raise BadPayload("a note needs some text")
    assert ticket.id is not None
    note = Note(ticket_id=ticket.id, author_id=viewer.user_id, text=text.strip())
    session.add(note)
    await session.flush()
    data = {"note_id": note.id}
    await record(session, viewer=viewer, ticket=ticket, type="note_added", data=data, ip=ip)
    return note


async def link_duplicate(
    session: AsyncSession, *, viewer: Viewer, ticket: Ticket, primary: Ticket, ip: str | None
) -> Ticket:
    """Make ``ticket`` a duplicate of ``primary`` (or of its primary); returns the primary used.

    The ticket's own duplicates move to the new primary, so clusters stay one level deep.
    """
    linked = await links.link(session, ticket=ticket, primary=primary, by=viewer.actor)
    assert ticket.primary_ticket_id is not None
    chosen = await session.get(Ticket, ticket.primary_ticket_id)
    assert chosen is not None
    for moved in linked:
        detail = {"primary_reference": chosen.reference}
        await audit.record(
            session,
            viewer=viewer,
            action="linked_duplicate",
            ticket_id=moved.id,
            detail=detail,
            ip=ip,
        )
    return chosen


async def dismiss_suggestion(
    session: AsyncSession, *, viewer: Viewer, ticket: Ticket, ip: str | None
) -> str | None:
    """Staff say the suggested ticket is another problem: the flag goes, and the answer is
    kept (``suggestion_dismissed``) as a labelled pair for calibration. Returns the
    reference the suggestion named (None: there was none to answer)."""
    suggestion = await latest_suggestion(session, ticket=ticket)
    if suggestion is None:
        return None
    links.flag_suggestion(ticket, False)
    ticket.updated_at = utcnow()
    detail = {"primary_reference": suggestion}
    await queries.add_event(
        session, actor=viewer.actor, type="suggestion_dismissed", ticket_id=ticket.id, data=detail
    )
    await audit.record(
        session,
        viewer=viewer,
        action="suggestion_dismissed",
        ticket_id=ticket.id,
        detail=detail,
        ip=ip,
    )
    return suggestion


async def latest_suggestion(session: AsyncSession, *, ticket: Ticket) -> str | None:
    """The reference dedupe suggested for ``ticket`` and staff have not answered yet."""
    if links.POSSIBLE_DUPLICATE not in ticket.flags:
        return None
    statement = (
        select(Event.data)
        .where(col(Event.ticket_id) == ticket.id, col(Event.type) == "duplicate_suggested")
        .order_by(col(Event.id).desc())
        .limit(1)
    )
    data = (await session.execute(statement)).scalar_one_or_none()
    reference = (data or {}).get("primary_reference")
    return reference if isinstance(reference, str) else None


async def unlink_duplicate(
    session: AsyncSession,
    *,
    viewer: Viewer,
    ticket: Ticket,
    ip: str | None,
    reason: str | None = None,
) -> None:
    """Make a duplicate independent again (a wrong link is undone, with an event on both)."""
    primary = await links.unlink(session, ticket=ticket, by=viewer.actor, reason=reason)
    detail = {"primary_reference": primary.reference if primary else None, "reason": reason}
    await audit.record(
        session,
        viewer=viewer,
        action="unlinked_duplicate",
        ticket_id=ticket.id,
        detail=detail,
        ip=ip,
    )


async def retry_dead_letter(
    session: AsyncSession, *, viewer: Viewer, message_id: int, ip: str | None
) -> int:
    """Put a dead letter back in line; returns the attempt number for the queue's job id."""
    message = await queries.load_message_for_update(session, message_id=message_id)
    if message is None or message.state != ProcessingState.dead_letter:
        raise NotFound(f"no dead letter {message_id}")
    earlier = await queries.count_rows(
        session, Event, col(Event.message_id) == message_id, col(Event.type) == "retried"
    )
    attempt = earlier + 1
    data = {"reason": message.state_reason, "attempt": attempt}
    message.state, message.attempts, message.state_reason = ProcessingState.received, 0, None
    await queries.add_event(
        session, actor=viewer.actor, type="retried", message_id=message_id, data=data
    )
    await audit.record(
        session, viewer=viewer, action="retried", detail={"message_id": message_id, **data}, ip=ip
    )
    return attempt


async def dead_letters(session: AsyncSession, *, limit: int = 100) -> list[Message]:
    """Messages that could not be processed, newest first."""
    statement = (
        select(Message)
        .where(col(Message.state) == ProcessingState.dead_letter)
        .order_by(col(Message.id).desc())
        .limit(limit)
    )
    return list((await session.execute(statement)).scalars())
