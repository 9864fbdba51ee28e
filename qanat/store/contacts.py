"""Merging two contacts found to be one citizen, and undoing it.

The event of a merge lists every identity, ticket and message that moved, so an unmerge
puts exactly those back (what arrived since stays with the contact it arrived for).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from qanat.errors import BadPayload, NotFound
from qanat.store import audit, queries
from qanat.store.access import Viewer
from qanat.store.actions import record
from qanat.store.tables import Contact, ContactIdentity, Event, Message, Ticket


async def merge_contacts(
    session: AsyncSession, *, viewer: Viewer, ticket: Ticket, other: Ticket, ip: str | None
) -> int:
    """Make the citizen of ``other`` the same person as the citizen of ``ticket``.

    Their identities, tickets and messages move to ``ticket``'s contact; the event keeps
    the list of what moved, so :func:`unmerge_contacts` can put it back. Returns its id.
    """
    keep, gone = ticket.contact_id, other.contact_id
    if keep is None or gone is None:
        raise BadPayload("both tickets need a known citizen to merge")
    if keep == gone:
        raise BadPayload(f"{ticket.reference} and {other.reference} already have the same citizen")
    moved: dict[str, Any] = {"kept": keep, "merged": gone, "other_reference": other.reference}
    for name, table in (
        ("identities", ContactIdentity),
        ("tickets", Ticket),
        ("messages", Message),
    ):
        ids = list(
            (await session.execute(select(table.id).where(col(table.contact_id) == gone))).scalars()
        )
        moved[name] = ids
        if ids:
            await session.execute(
                update(table).where(col(table.id).in_(ids)).values(contact_id=keep)
            )
    await session.execute(
        update(Contact).where(col(Contact.id) == gone).values(merged_into_id=keep)
    )
    event = await queries.add_event(
        session, actor=viewer.actor, type="contacts_merged", ticket_id=ticket.id, data=moved
    )
    await audit.record(
        session, viewer=viewer, action="contacts_merged", ticket_id=ticket.id, detail=moved, ip=ip
    )
    await session.flush()
    assert event.id is not None
    return event.id


async def unmerge_contacts(
    session: AsyncSession, *, viewer: Viewer, ticket: Ticket, merge_id: int, ip: str | None
) -> None:
    """Undo a merge recorded on ``ticket``: what moved goes back to the other citizen."""
    merge = await session.get(Event, merge_id)
    if merge is None or merge.type != "contacts_merged" or merge.ticket_id != ticket.id:
        raise NotFound(f"no contact merge {merge_id} on {ticket.reference}")
    undone = await queries.count_rows(
        session,
        Event,
        col(Event.ticket_id) == ticket.id,
        col(Event.type) == "contacts_unmerged",
        col(Event.data)["merge_id"].as_integer() == merge_id,
    )
    if undone:
        raise BadPayload(f"contact merge {merge_id} was already undone")
    keep, gone = merge.data["kept"], merge.data["merged"]
    for name, table in (
        ("identities", ContactIdentity),
        ("tickets", Ticket),
        ("messages", Message),
    ):
        ids = merge.data.get(name) or []
        if ids:
            await session.execute(
                update(table)
                .where(col(table.id).in_(ids), col(table.contact_id) == keep)
                .values(contact_id=gone)
            )
    await session.execute(
        update(Contact).where(col(Contact.id) == gone).values(merged_into_id=None)
    )
    data = {"merge_id": merge_id, "other_reference": merge.data.get("other_reference")}
    await record(session, viewer=viewer, ticket=ticket, type="contacts_unmerged", data=data, ip=ip)
