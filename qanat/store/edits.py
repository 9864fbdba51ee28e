"""Edits: a citizen changed a message they sent before (Telegram lets them).

The stored text becomes the new one; the old text stays on the message's list of edits
and on the ticket's timeline as a ``message_edited`` event, so staff see both. The raw
bytes of the first version are kept as received; each edit's raw update rides on its
event. An edit opens no ticket.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from qanat.model import Inbound
from qanat.store import queries
from qanat.store.tables import Message, Ticket, utcnow


async def record_edit(session: AsyncSession, *, inbound: Inbound) -> int | None:
    """Apply ``inbound`` as a new version of the stored message with its source key.

    Returns the message id, or None when no such message is stored (the caller saves it
    as new). The same edit delivered twice changes nothing the second time.
    """
    statement = select(Message).where(
        col(Message.channel) == inbound.channel,
        col(Message.account) == inbound.account,
        col(Message.external_id) == inbound.external_id,
    )
    if session.get_bind().dialect.name == "postgresql":
        statement = statement.with_for_update()
    message = (await session.execute(statement)).scalar_one_or_none()
    if message is None:
        return None
    assert message.id is not None
    old_text = message.text
    if old_text == inbound.text:
        return message.id
    edited_at = inbound.received_at.isoformat()
    edits = [*message.channel_metadata.get("edits", []), {"at": edited_at, "old_text": old_text}]
    # A new dict (not an in-place change) so the JSON column is written.
    message.channel_metadata = {**message.channel_metadata, "edits": edits}
    message.text = inbound.text
    await queries.add_event(
        session,
        actor=inbound.channel,
        type="message_edited",
        ticket_id=message.ticket_id,
        message_id=message.id,
        data={
            "external_id": inbound.external_id,
            "old_text": old_text,
            "new_text": inbound.text,
            "edited_at": edited_at,
            "raw": inbound.raw.decode("utf-8", "replace") if inbound.raw else None,
        },
    )
    if message.ticket_id is not None:
        await _touch_ticket(session, ticket_id=message.ticket_id)
    return message.id


async def _touch_ticket(session: AsyncSession, *, ticket_id: int) -> None:
    # The ticket moves up the inbox: its citizen said something new.
    ticket = await session.get(Ticket, ticket_id)
    if ticket is not None:
        ticket.updated_at = utcnow()
