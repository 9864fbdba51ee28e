"""What the ticket page shows: one timeline across channels, the citizen, the cluster."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from qanat.store.access import Viewer, visible_tickets
from qanat.store.tables import (
    Attachment,
    Contact,
    ContactIdentity,
    Event,
    Message,
    Note,
    Ticket,
    User,
)

#: Events the timeline leaves out because the message or note they announce is shown.
SHOWN_ELSEWHERE = frozenset(
    {"message_added", "note_added", "reply_sent", "reply_by_hand", "reply_failed", "created"}
)
#: Past tickets of the same citizen shown on the contact card.
PAST_TICKETS = 20


@dataclass
class TimelineEntry:
    """One thing that happened on a ticket: a message in or out, a note, or an event."""

    at: datetime
    kind: str
    message: Message | None = None
    attachments: list[Attachment] = field(default_factory=list)
    note: Note | None = None
    author: str | None = None
    event: Event | None = None


async def timeline(session: AsyncSession, *, ticket_id: int, internal: bool) -> list[TimelineEntry]:
    """Messages, notes and events of a ticket in time order.

    ``internal`` False (representatives) keeps only the messages in and out.
    """
    messages = list(
        (
            await session.execute(
                select(Message).where(col(Message.ticket_id) == ticket_id).order_by(col(Message.id))
            )
        ).scalars()
    )
    attachments = await _attachments(session, [m.id for m in messages if m.id is not None])
    entries = [
        TimelineEntry(
            at=m.received_at, kind="message", message=m, attachments=attachments.get(m.id or 0, [])
        )
        for m in messages
    ]
    if internal:
        entries += await _notes(session, ticket_id)
        events = (
            await session.execute(
                select(Event).where(col(Event.ticket_id) == ticket_id).order_by(col(Event.id))
            )
        ).scalars()
        entries += [
            TimelineEntry(at=e.at, kind="event", event=e)
            for e in events
            if e.type not in SHOWN_ELSEWHERE
        ]
    return sorted(entries, key=lambda entry: entry.at)


async def _attachments(
    session: AsyncSession, message_ids: list[int]
) -> dict[int, list[Attachment]]:
    if not message_ids:
        return {}
    rows = (
        await session.execute(
            select(Attachment)
            .where(col(Attachment.message_id).in_(message_ids))
            .order_by(col(Attachment.id))
        )
    ).scalars()
    grouped: dict[int, list[Attachment]] = {}
    for attachment in rows:
        grouped.setdefault(attachment.message_id, []).append(attachment)
    return grouped


async def _notes(session: AsyncSession, ticket_id: int) -> list[TimelineEntry]:
    rows = await session.execute(
        select(Note, User.display_name)
        .outerjoin(User, col(User.id) == col(Note.author_id))
        .where(col(Note.ticket_id) == ticket_id)
        .order_by(col(Note.id))
    )
    return [
        TimelineEntry(at=note.created_at, kind="note", note=note, author=author)
        for note, author in rows
    ]


async def contact_card(session: AsyncSession, *, ticket: Ticket, viewer: Viewer) -> dict[str, Any]:
    """The citizen behind a ticket: name, every identity, and past tickets the viewer may see."""
    if ticket.contact_id is None:
        return {"name": None, "identities": [], "past": []}
    contact = await session.get(Contact, ticket.contact_id)
    identities = (
        await session.execute(
            select(ContactIdentity.kind, ContactIdentity.value)
            .where(col(ContactIdentity.contact_id) == ticket.contact_id)
            .order_by(col(ContactIdentity.id))
        )
    ).all()
    past = (
        await session.execute(
            select(Ticket)
            .where(
                col(Ticket.contact_id) == ticket.contact_id,
                col(Ticket.id) != ticket.id,
                visible_tickets(viewer),
            )
            .order_by(col(Ticket.id).desc())
            .limit(PAST_TICKETS)
        )
    ).scalars()
    return {
        "name": contact.display_name if contact else None,
        "identities": [{"kind": k, "value": v} for k, v in identities],
        "past": list(past),
    }


async def cluster(
    session: AsyncSession, *, ticket: Ticket, viewer: Viewer
) -> tuple[Ticket | None, list[Ticket]]:
    """The ticket's primary and its duplicates, as far as the viewer may see them."""
    primary = None
    if ticket.primary_ticket_id is not None:
        primary = (
            await session.execute(
                select(Ticket).where(
                    col(Ticket.id) == ticket.primary_ticket_id, visible_tickets(viewer)
                )
            )
        ).scalar_one_or_none()
    duplicates = (
        await session.execute(
            select(Ticket)
            .where(col(Ticket.primary_ticket_id) == ticket.id, visible_tickets(viewer))
            .order_by(col(Ticket.id))
        )
    ).scalars()
    return primary, list(duplicates)
