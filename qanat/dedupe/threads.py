"""Follow-ups: does a new message continue a conversation qanat already has?"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from qanat.model import OPEN_STATUSES, Inbound, Normalized
from qanat.normalize.answers import classify_answer
from qanat.store import notices, queries
from qanat.store.tables import Ticket

#: Channels where a citizen's next message, soon after, continues their open ticket:
#: an SMS has no reply threading, so the number and the time are all there is.
SAME_SENDER_CHANNELS = frozenset({"sms"})
#: How long after the "is it fixed?" question a bare answer is taken as its answer.
SURVEY_ANSWER_WINDOW = timedelta(days=7)


async def find_thread(
    session: AsyncSession,
    *,
    inbound: Inbound,
    normalized: Normalized,
    contact_id: int | None,
    same_sender_window: timedelta = timedelta(hours=48),
    new_contact: bool = False,
) -> Ticket | None:
    """The ticket this message continues, or None when it starts a new one.

    A reply to one of a ticket's messages joins it (email In-Reply-To/References, a
    Telegram reply, an X conversation). A quoted reference number joins only when the
    sender is that ticket's contact: anyone can quote a number they saw. On SMS, a
    message from a number with an open ticket (on any channel), within the window, joins.
    A bare answer ("5", "نعم", "still broken") joins the resolved ticket whose "is it
    fixed?" question the citizen was sent in the last week.
    """
    replied = await queries.ticket_of_messages(
        session, channel=inbound.channel, external_ids=normalized.thread.in_reply_to
    )
    if replied is not None:
        return replied
    if contact_id is None or new_contact:
        return None  # a citizen seen for the first time has no ticket of their own yet
    for reference in normalized.thread.ticket_references:
        ticket = await queries.ticket_by_reference(session, reference=reference)
        if ticket is not None and ticket.contact_id == contact_id:
            return ticket
    if classify_answer(inbound.text or "").is_answer:
        # "5", "لا، ما زالت المشكلة": the answer to the survey the citizen was just sent.
        surveyed = await notices.ticket_awaiting_answer(
            session, contact_id=contact_id, since=inbound.received_at - SURVEY_ANSWER_WINDOW
        )
        if surveyed is not None:
            return surveyed
    if inbound.channel in SAME_SENDER_CHANNELS:
        return await _recent_open_ticket(
            session, inbound=inbound, contact_id=contact_id, window=same_sender_window
        )
    return None


async def _recent_open_ticket(
    session: AsyncSession, *, inbound: Inbound, contact_id: int, window: timedelta
) -> Ticket | None:
    statement = (
        select(Ticket)
        .where(
            col(Ticket.contact_id) == contact_id,
            col(Ticket.status).in_([s.value for s in OPEN_STATUSES]),
            col(Ticket.updated_at) >= inbound.received_at - window,
        )
        .order_by(col(Ticket.updated_at).desc())
        .limit(1)
    )
    return (await session.execute(statement)).scalar_one_or_none()
