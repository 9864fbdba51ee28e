"""Read models over the store: ticket lists and details, the summary, and exports."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any

from sqlalchemy import distinct, func
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from qanat.model import Direction, ProcessingState
from qanat.store import queries
from qanat.store.tables import Department, Event, Message, Ticket

#: Rows fetched per round trip when streaming an export.
EXPORT_BATCH = 500


async def department_codes(session: AsyncSession) -> dict[int, str]:
    """Department id → code."""
    rows = await session.execute(select(Department.id, Department.code))
    return {id_: code for id_, code in rows}


async def references_by_id(session: AsyncSession, ticket_ids: set[int]) -> dict[int, str]:
    """Ticket id → reference for the ids given."""
    if not ticket_ids:
        return {}
    rows = await session.execute(
        select(Ticket.id, Ticket.reference).where(col(Ticket.id).in_(ticket_ids))
    )
    return {id_: reference for id_, reference in rows}


def ticket_public(
    ticket: Ticket, *, departments: dict[int, str], primaries: dict[int, str]
) -> dict[str, Any]:
    """The fields of a ticket the API and exports show (no internal columns)."""
    return {
        "reference": ticket.reference,
        "kind": ticket.kind,
        "status": ticket.status,
        "priority": ticket.priority,
        "department": departments.get(ticket.department_id or -1),
        "category": ticket.category,
        "channel": ticket.channel,
        "language": ticket.language,
        "subject": ticket.subject,
        "needs_triage": ticket.needs_triage,
        "primary_reference": primaries.get(ticket.primary_ticket_id or -1),
        "location": {
            "building": ticket.building,
            "road": ticket.road,
            "block": ticket.block,
            "area": ticket.area,
            "governorate": ticket.governorate,
            "lat": ticket.lat,
            "lon": ticket.lon,
        },
        "created_at": ticket.created_at.isoformat(),
        "resolved_at": ticket.resolved_at.isoformat() if ticket.resolved_at else None,
        "sla_due_at": _iso(ticket.sla_due_at),
        "first_response_due_at": _iso(ticket.first_response_due_at),
        "sla_warn_at": _iso(ticket.sla_warn_at),
        "sla_paused_at": _iso(ticket.sla_paused_at),
    }


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None


async def list_tickets(
    session: AsyncSession,
    *,
    status: str | None = None,
    department: str | None = None,
    channel: str | None = None,
    limit: int = 50,
    offset: int = 0,
) -> list[dict[str, Any]]:
    """Tickets, newest first, filtered as the inbox filters them."""
    statement = select(Ticket).order_by(col(Ticket.id).desc()).limit(limit).offset(offset)
    if status:
        statement = statement.where(col(Ticket.status) == status)
    if channel:
        statement = statement.where(col(Ticket.channel) == channel)
    if department:
        statement = statement.join(Department, col(Department.id) == col(Ticket.department_id))
        statement = statement.where(col(Department.code) == department)
    tickets = list((await session.execute(statement)).scalars())
    return await _public_rows(session, tickets)


async def _public_rows(session: AsyncSession, tickets: list[Ticket]) -> list[dict[str, Any]]:
    departments = await department_codes(session)
    primaries = await references_by_id(
        session, {t.primary_ticket_id for t in tickets if t.primary_ticket_id}
    )
    return [ticket_public(t, departments=departments, primaries=primaries) for t in tickets]


async def ticket_detail(session: AsyncSession, *, reference: str) -> dict[str, Any] | None:
    """One ticket with its messages, events and duplicates: the timeline staff read."""
    ticket = (
        await session.execute(select(Ticket).where(col(Ticket.reference) == reference))
    ).scalar_one_or_none()
    if ticket is None:
        return None
    detail = (await _public_rows(session, [ticket]))[0]
    messages = (
        await session.execute(
            select(Message).where(col(Message.ticket_id) == ticket.id).order_by(col(Message.id))
        )
    ).scalars()
    detail["messages"] = [_message_public(m) for m in messages]
    events = (
        await session.execute(
            select(Event).where(col(Event.ticket_id) == ticket.id).order_by(col(Event.id))
        )
    ).scalars()
    detail["events"] = [
        {"at": e.at.isoformat(), "actor": e.actor, "type": e.type, "data": e.data} for e in events
    ]
    duplicates = (
        await session.execute(
            select(Ticket.reference, Ticket.channel).where(
                col(Ticket.primary_ticket_id) == ticket.id
            )
        )
    ).all()
    detail["duplicates"] = [{"reference": r, "channel": c} for r, c in duplicates]
    detail["reporters"] = 1 + len(detail["duplicates"])
    return detail


def _message_public(message: Message) -> dict[str, Any]:
    return {
        "channel": message.channel,
        "account": message.account,
        "external_id": message.external_id,
        "direction": message.direction,
        "received_at": message.received_at.isoformat(),
        "sender": {"handle": message.sender_handle, "name": message.sender_name},
        "subject": message.subject,
        "text": message.text,
        "language": message.language,
        "state": message.state,
    }


async def summary(session: AsyncSession) -> dict[str, Any]:
    """Counts the demo and the dashboard show: per department and channel, links, failures."""
    per_department = await session.execute(
        select(Department.code, func.count(col(Ticket.id)))
        .join(Ticket, col(Ticket.department_id) == col(Department.id))
        .group_by(Department.code)
        .order_by(func.count(col(Ticket.id)).desc())
    )
    inbound = col(Message.direction) == Direction.inbound
    per_channel = await session.execute(
        select(Message.channel, func.count())
        .where(inbound)
        .group_by(Message.channel)
        .order_by(Message.channel)
    )
    return {
        "messages": await _scalar(session, select(func.count()).where(inbound)),
        "replies": await _scalar(
            session, select(func.count()).where(col(Message.direction) == Direction.outbound)
        ),
        "tickets": await _scalar(session, select(func.count()).select_from(Ticket)),
        "tickets_resolved": await _scalar(
            session, select(func.count()).where(col(Ticket.resolved_at).is_not(None))
        ),
        "tickets_per_department": dict(per_department.all()),
        "messages_per_channel": dict(per_channel.all()),
        "duplicates_linked": await _scalar(
            session,
            select(func.count()).where(col(Ticket.primary_ticket_id).is_not(None)),
        ),
        "follow_ups": await _scalar(
            session,
            select(func.count()).where(
                col(Event.type) == "message_added",
                col(Event.data)["reason"].as_string().in_(["follow-up", "same problem"]),
            ),
        ),
        "needs_triage": await _scalar(
            session, select(func.count()).where(col(Ticket.needs_triage).is_(True))
        ),
        "dead_letters": await _scalar(
            session, select(func.count()).where(col(Message.state) == ProcessingState.dead_letter)
        ),
        "contacts_on_several_channels": await _contacts_on_several_channels(session),
    }


async def _scalar(session: AsyncSession, statement: Any) -> int:
    return int((await session.execute(statement)).scalar_one())


async def _contacts_on_several_channels(session: AsyncSession) -> int:
    per_contact = (
        select(Message.contact_id)
        .where(col(Message.contact_id).is_not(None))
        .group_by(col(Message.contact_id))
        .having(func.count(distinct(col(Message.channel))) > 1)
        .subquery()
    )
    return await _scalar(session, select(func.count()).select_from(per_contact))


async def dead_letters(session: AsyncSession, *, limit: int = 100) -> list[dict[str, Any]]:
    """Messages that could not be processed, with their reasons (newest first)."""
    rows = (
        await session.execute(
            select(Message)
            .where(col(Message.state) == ProcessingState.dead_letter)
            .order_by(col(Message.id).desc())
            .limit(limit)
        )
    ).scalars()
    return [_message_public(m) | {"reason": m.state_reason, "attempts": m.attempts} for m in rows]


async def export_tickets(session: AsyncSession) -> AsyncIterator[dict[str, Any]]:
    """Every ticket in the export format of DESIGN.md, oldest first."""
    departments = await department_codes(session)
    last_id = 0
    while True:
        batch = list(
            (
                await session.execute(
                    select(Ticket)
                    .where(col(Ticket.id) > last_id)
                    .order_by(col(Ticket.id))
                    .limit(EXPORT_BATCH)
                )
            ).scalars()
        )
        if not batch:
            return
        primaries = await references_by_id(
            session, {t.primary_ticket_id for t in batch if t.primary_ticket_id}
        )
        keys = await _message_keys(session, [t.id for t in batch if t.id is not None])
        for ticket in batch:
            row = ticket_public(ticket, departments=departments, primaries=primaries)
            row["messages"] = keys.get(ticket.id or -1, [])
            yield row
        last_id = batch[-1].id or last_id


async def _message_keys(
    session: AsyncSession, ticket_ids: list[int]
) -> dict[int, list[dict[str, str]]]:
    rows = await session.execute(
        select(Message.ticket_id, Message.channel, Message.account, Message.external_id)
        .where(col(Message.ticket_id).in_(ticket_ids))
        .order_by(col(Message.id))
    )
    keys: dict[int, list[dict[str, str]]] = {}
    for ticket_id, channel, account, external_id in rows:
        keys.setdefault(ticket_id, []).append(
            {"channel": channel, "account": account, "external_id": external_id}
        )
    return keys


async def export_messages(session: AsyncSession) -> AsyncIterator[dict[str, Any]]:
    """Inbound messages in the import format, oldest first.

    The first message of each ticket carries the ticket's kind, department and status,
    so ``qanat import`` of this output rebuilds the same tickets in an empty store.
    """
    departments = await department_codes(session)
    first_of_ticket: set[int] = set()
    last_id = 0
    while True:
        rows = (
            await session.execute(
                select(Message, Ticket)
                .outerjoin(Ticket, col(Ticket.id) == col(Message.ticket_id))
                .where(col(Message.id) > last_id, col(Message.direction) == Direction.inbound)
                .order_by(col(Message.id))
                .limit(EXPORT_BATCH)
            )
        ).all()
        if not rows:
            return
        for message, ticket in rows:
            record = queries.inbound_of(message).model_dump(mode="json", exclude_none=True)
            if ticket is not None and ticket.id not in first_of_ticket:
                first_of_ticket.add(ticket.id or 0)
                record |= {"kind": ticket.kind, "status": ticket.status}
                if ticket.category:
                    record["category"] = ticket.category
                if ticket.department_id is not None:
                    record["department"] = departments[ticket.department_id]
            yield record
        last_id = rows[-1][0].id or last_id


async def reconcile_runs(session: AsyncSession, *, limit: int = 100) -> list[dict[str, Any]]:
    """Ledger rows, newest first."""
    from qanat.store.tables import ReconcileRun

    rows = (
        await session.execute(
            select(ReconcileRun).order_by(col(ReconcileRun.id).desc()).limit(limit)
        )
    ).scalars()
    return [run.model_dump(mode="json") for run in rows]


async def channel_status(session: AsyncSession) -> list[dict[str, Any]]:
    """Per channel account: health, watermark, and the newest message received."""
    from qanat.store.tables import ChannelHealth, ConnectorCursor

    newest = dict(
        ((channel, account), at)
        for channel, account, at in (
            await session.execute(
                select(Message.channel, Message.account, func.max(Message.received_at))
                .where(col(Message.direction) == Direction.inbound)
                .group_by(col(Message.channel), col(Message.account))
            )
        ).all()
    )
    health = {
        (h.channel, h.account): h for h in (await session.execute(select(ChannelHealth))).scalars()
    }
    cursors = {
        (c.channel, c.account): c.value
        for c in (await session.execute(select(ConnectorCursor))).scalars()
    }
    rows = []
    for channel, account in sorted(set(newest) | set(health) | set(cursors)):
        state = health.get((channel, account))
        last = newest.get((channel, account))
        rows.append(
            {
                "channel": channel,
                "account": account,
                "last_message_at": last.isoformat() if last else None,
                "last_success_at": state.last_success_at.isoformat()
                if state and state.last_success_at
                else None,
                "last_error_at": state.last_error_at.isoformat()
                if state and state.last_error_at
                else None,
                "last_error": state.last_error if state else None,
                "error_count": state.error_count if state else 0,
                "consecutive_errors": state.consecutive_errors if state else 0,
                "watermark": cursors.get((channel, account)),
            }
        )
    return rows


async def merge_suggestions(session: AsyncSession) -> list[dict[str, Any]]:
    """Contacts one message showed to be the same citizen, not yet merged by staff."""
    from qanat.store.tables import Contact

    events = (
        await session.execute(
            select(Event)
            .where(col(Event.type) == "contact_merge_suggested")
            .order_by(col(Event.id).desc())
        )
    ).scalars()
    merged = {
        contact_id
        for (contact_id,) in (
            await session.execute(
                select(Contact.id).where(col(Contact.merged_into_id).is_not(None))
            )
        ).all()
    }
    seen: set[tuple[int, ...]] = set()
    suggestions = []
    for event in events:
        contacts = tuple(event.data.get("contacts", []))
        if contacts in seen or len(set(contacts) - merged) < 2:
            continue
        seen.add(contacts)
        suggestions.append(
            {
                "contacts": list(contacts),
                "identities": event.data.get("identities", []),
                "at": event.at.isoformat(),
            }
        )
    return suggestions
