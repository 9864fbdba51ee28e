"""Follow-ups: does a new message continue a conversation qanat already has?"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from qanat.model import Inbound, Normalized
from qanat.store import queries
from qanat.store.tables import Ticket


async def find_thread(
    session: AsyncSession, *, inbound: Inbound, normalized: Normalized, contact_id: int | None
) -> Ticket | None:
    """The ticket this message continues, or None when it starts a new one.

    A reply to one of a ticket's messages joins it (email In-Reply-To/References, a
    Telegram reply, an X conversation). A quoted reference number joins only when the
    sender is that ticket's contact: anyone can quote a number they saw.
    """
    replied = await queries.ticket_of_messages(
        session, channel=inbound.channel, external_ids=normalized.thread.in_reply_to
    )
    if replied is not None:
        return replied
    if contact_id is None:
        return None
    for reference in normalized.thread.ticket_references:
        ticket = await queries.ticket_by_reference(session, reference=reference)
        if ticket is not None and ticket.contact_id == contact_id:
            return ticket
    return None
