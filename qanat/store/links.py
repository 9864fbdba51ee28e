"""How a ticket joins a cluster or a department: the one ``link``, ``unlink`` and
``move_to_department`` the pipeline, the nightly sweep and staff all use.

Each writes the ticket's events in the caller's transaction, with who or what did it
(``by``: ``dedupe``, ``sweep``, ``staff:NAME``, ``token:NAME``); staff actions add their
audit rows on top (:mod:`qanat.store.actions`). Counting the SLA again after a move is
the router's work (the store does not know the calendar): callers get the tickets moved.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from qanat.errors import BadPayload
from qanat.store import queries
from qanat.store.tables import Ticket, utcnow


async def duplicates_of(session: AsyncSession, *, ticket: Ticket) -> list[Ticket]:
    """The tickets linked to ``ticket`` as their primary."""
    statement = select(Ticket).where(col(Ticket.primary_ticket_id) == ticket.id)
    return list((await session.execute(statement.order_by(col(Ticket.id)))).scalars())


def move_to_department(ticket: Ticket, department_id: int | None) -> bool:
    """Give ``ticket`` to a department; True when it changed hands.

    Someone of the old department no longer holds it, and it is out of triage.
    """
    ticket.needs_triage = ticket.needs_triage and department_id is None
    if department_id == ticket.department_id:
        return False
    ticket.department_id = department_id
    ticket.assignee_id = None
    ticket.updated_at = utcnow()
    return True


async def root_primary(session: AsyncSession, primary: Ticket) -> Ticket:
    """The ticket that carries the work: ``primary``, or its own primary (clusters stay
    one level deep)."""
    if primary.primary_ticket_id is None:
        return primary
    return await session.get(Ticket, primary.primary_ticket_id) or primary


#: The flag of a ticket dedupe suggested as a possible duplicate, until staff answer.
POSSIBLE_DUPLICATE = "possible_duplicate"


def flag_suggestion(ticket: Ticket, suggested: bool) -> None:
    """Raise or drop ``ticket``'s "possible duplicate" flag (other flags stay)."""
    kept = [flag for flag in ticket.flags if flag != POSSIBLE_DUPLICATE]
    ticket.flags = sorted([*kept, POSSIBLE_DUPLICATE]) if suggested else kept


async def link(
    session: AsyncSession,
    *,
    ticket: Ticket,
    primary: Ticket,
    by: str,
    evidence: dict[str, Any] | None = None,
) -> list[Ticket]:
    """Make ``ticket`` a duplicate of ``primary`` (or of its primary); the primary's
    department carries the work. ``ticket``'s own duplicates move with it.

    ``evidence`` is why (the score, its threshold and features for an automatic link;
    nothing for staff, who decided by reading). Returns the tickets linked, ``ticket``
    last.
    """
    primary = await root_primary(session, primary)
    if primary.id == ticket.id:
        raise BadPayload("a ticket cannot be a duplicate of itself")
    data = {
        "primary_ticket_id": primary.id,
        "primary_reference": primary.reference,
        "by": by,
        "score": None,
        **(evidence or {}),
    }
    moved = [*await duplicates_of(session, ticket=ticket), ticket]
    for duplicate in moved:
        duplicate.primary_ticket_id = primary.id
        # A suggestion is answered by the link, whichever ticket it named.
        flag_suggestion(duplicate, False)
        move_to_department(duplicate, primary.department_id)
        duplicate.needs_triage = False
        duplicate.updated_at = utcnow()
        await queries.add_event(
            session, actor=by, type="linked_duplicate", ticket_id=duplicate.id, data=data
        )
    reported = {
        "duplicate_ticket_id": ticket.id,
        "duplicate_reference": ticket.reference,
        "channel": ticket.channel,
        "by": by,
    }
    await queries.add_event(
        session, actor=by, type="duplicate_reported", ticket_id=primary.id, data=reported
    )
    return moved


async def unlink(
    session: AsyncSession, *, ticket: Ticket, by: str, reason: str | None = None
) -> Ticket | None:
    """Make a duplicate independent again, with an event on both tickets (and staff's
    reason, when given); returns the primary it left (None when that ticket is gone)."""
    if ticket.primary_ticket_id is None:
        raise BadPayload(f"{ticket.reference} is not linked to a primary ticket")
    primary = await session.get(Ticket, ticket.primary_ticket_id)
    ticket.primary_ticket_id = None
    ticket.updated_at = utcnow()
    reference = primary.reference if primary else None
    await queries.add_event(
        session,
        actor=by,
        type="unlinked_duplicate",
        ticket_id=ticket.id,
        data={"primary_reference": reference, "by": by, **({"reason": reason} if reason else {})},
    )
    if primary is not None:
        await queries.add_event(
            session,
            actor=by,
            type="unlinked_duplicate",
            ticket_id=primary.id,
            data={
                "duplicate_reference": ticket.reference,
                "by": by,
                **({"reason": reason} if reason else {}),
            },
        )
    return primary
