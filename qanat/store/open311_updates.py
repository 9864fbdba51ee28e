"""Status updates partner systems post to qanat's service requests (as a national system,
qanat hears back from the bodies that work its requests): kept once per client and update
id, on the ticket's timeline, and applied to its status.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from qanat.errors import NotFound
from qanat.model import OPEN_STATUSES, TicketStatus
from qanat.store import queries
from qanat.store.actions import apply_status
from qanat.store.federation_tables import Open311Update
from qanat.store.tables import Open311Key, Ticket

_OPEN = {s.value for s in OPEN_STATUSES}


@dataclass(frozen=True)
class PartnerUpdate:
    """What a partner posted: the request, its own id for the update, status and note."""

    service_request_id: str
    client_update_id: str
    status: str | None
    description: str
    updated_at: datetime | None


def status_after(current: str, open311_status: str | None) -> str | None:
    """The ticket status an Open311 status asks for (None: leave it as it is)."""
    if open311_status == "closed" and current in _OPEN:
        return TicketStatus.resolved.value
    if open311_status == "open" and current not in _OPEN:
        return TicketStatus.open.value
    return None


async def _known(session: AsyncSession, client: str, update_id: str) -> Open311Update | None:
    statement = select(Open311Update).where(
        col(Open311Update.client) == client, col(Open311Update.client_update_id) == update_id
    )
    return (await session.execute(statement)).scalar_one_or_none()


async def _ticket(session: AsyncSession, reference: str) -> Ticket:
    statement = select(Ticket).where(col(Ticket.reference) == reference)
    if session.get_bind().dialect.name == "postgresql":
        statement = statement.with_for_update()
    ticket = (await session.execute(statement)).scalar_one_or_none()
    if ticket is None or ticket.id is None:
        raise NotFound(f"service_request_id {reference!r} was not found")
    return ticket


async def _apply(
    session: AsyncSession, *, ticket: Ticket, client: str, update: PartnerUpdate, now: datetime
) -> None:
    """The update on the ticket's timeline, and the status it asks for."""
    actor = f"open311:{client}"
    data = {"client": client, "update_id": update.client_update_id, "status": update.status}
    await queries.add_event(
        session,
        actor=actor,
        type="partner_update",
        ticket_id=ticket.id,
        data={**data, "description": update.description},
    )
    new_status = status_after(ticket.status, update.status)
    if new_status is not None:
        reason = f"{client}: {update.description}"[:500]
        change = {"from": ticket.status, "to": new_status, "reason": reason}
        apply_status(ticket, new_status, at=now)
        await queries.add_event(
            session, actor=actor, type="status_changed", ticket_id=ticket.id, data=change
        )
    ticket.updated_at = now
    session.add(ticket)


async def record_partner_update(
    session: AsyncSession, *, client: Open311Key, update: PartnerUpdate, now: datetime
) -> tuple[Open311Update, bool]:
    """Keep a partner's update (once per client and update id) and apply its status.

    Returns the row and whether this call made it. :class:`NotFound` for an unknown
    request.
    """
    known = await _known(session, client.name, update.client_update_id)
    if known is not None:
        return known, False
    ticket = await _ticket(session, update.service_request_id)
    assert ticket.id is not None
    row = Open311Update(
        client=client.name,
        client_update_id=update.client_update_id,
        ticket_id=ticket.id,
        status=update.status,
        description=update.description,
        updated_at=update.updated_at,
        received_at=now,
    )
    session.add(row)
    await session.flush()
    await _apply(session, ticket=ticket, client=client.name, update=update, now=now)
    return row, True


async def partner_updates(
    session: AsyncSession, *, start: datetime, end: datetime, limit: int = 1000
) -> list[tuple[Open311Update, str]]:
    """Updates received in ``[start, end]``, oldest first, with their request's reference."""
    statement = (
        select(Open311Update, Ticket.reference)
        .join(Ticket, col(Ticket.id) == col(Open311Update.ticket_id))
        .where(col(Open311Update.received_at) >= start, col(Open311Update.received_at) <= end)
        .order_by(col(Open311Update.id))
        .limit(limit)
    )
    return [(row, reference) for row, reference in (await session.execute(statement)).all()]


async def latest_partner_notes(session: AsyncSession, ticket_ids: list[int]) -> dict[int, str]:
    """Ticket id → the latest note a partner posted on it (updates without one skipped)."""
    if not ticket_ids:
        return {}
    latest = (
        select(func.max(col(Open311Update.id)))
        .where(col(Open311Update.ticket_id).in_(ticket_ids), col(Open311Update.description) != "")
        .group_by(col(Open311Update.ticket_id))
    )
    rows = await session.execute(
        select(Open311Update.ticket_id, Open311Update.description).where(
            col(Open311Update.id).in_(latest)
        )
    )
    return {ticket_id: text for ticket_id, text in rows if text}
