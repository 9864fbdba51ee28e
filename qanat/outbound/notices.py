"""Sending what qanat tells citizens by itself: notices due now become queued replies.

Notices are decided in the transaction of their cause (:mod:`qanat.store.notices`); after
that commit, or at the minute's sweep for those that waited (quiet hours, the survey's
delay), :func:`send_due_notices` releases them as queued outbound messages and queues
the reply job for each — the same job as staff replies, with its retries, its
``reply_failed`` event on the ticket, and its rule that only a queued row is sent.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from qanat.config import Settings
from qanat.outbound.deps import SEND_REPLY, OutboundDeps
from qanat.outbound.replies import reply_job_id
from qanat.store import notices
from qanat.store.tables import Message, Ticket, utcnow

log = logging.getLogger(__name__)


async def send_due_notices(
    deps: OutboundDeps, *, ticket_ids: Iterable[int] | None = None, now: datetime | None = None
) -> list[int]:
    """Release the notices due by ``now`` (of ``ticket_ids``, or all) and queue them.

    Returns the outbound message ids queued. A queue that is down leaves them ``queued``
    for the sweep of unsent replies; nothing is lost and nothing is sent twice.
    """
    if not deps.settings.notices:
        return []
    wanted = None if ticket_ids is None else [t for t in ticket_ids if t is not None]
    if wanted == []:
        return []
    async with deps.db.writing() as session:
        released = await notices.release_due(
            session, now=now, ticket_ids=wanted, route=lambda message: route(deps, message)
        )
    for message_id in released:
        try:
            await deps.queue.enqueue(SEND_REPLY, message_id, job_id=reply_job_id(message_id))
        except Exception as exc:
            log.warning("notice %s saved but not queued (%s)", message_id, type(exc).__name__)
    return released


def _can_send(deps: OutboundDeps, channel: str, account: str) -> bool:
    try:
        return deps.sender_for(channel, account) is not None
    except Exception:  # an account whose settings do not build: staff see it in health
        return False


def route(deps: OutboundDeps, message: Message) -> tuple[str, str] | None:
    """Where a notice to the writer of ``message`` goes: the channel they wrote on; for
    the web form and the app, the email address (else the phone) they gave, through the
    first account that sends on it. None when nothing can send it."""
    if message.channel not in notices.CONTACT_CHANNELS:
        if _can_send(deps, message.channel, message.account):
            return message.channel, message.account
        return None
    for channel, address in (("email", message.sender_email), ("sms", message.sender_phone)):
        if not address:
            continue
        accounts = [str(e.get("account", "default")) for e in deps.accounts.get(channel, [])]
        for account in accounts or ["default"]:
            if _can_send(deps, channel, account):
                return channel, account
    return None


#: A placeholder's value: one text, or one per language (``{"ar": …, "en": …}``).
Value = str | Mapping[str, str]


async def tell_citizens(
    session: AsyncSession,
    *,
    settings: Settings,
    tickets: Sequence[Ticket],
    kind: str,
    values: Mapping[str, Value] | None = None,
    survey: bool = False,
    now: datetime | None = None,
    key: str | None = None,
) -> list[int]:
    """Decide a status notice (``pending``, ``transferred``, ``resolved``, …) to each
    ticket's citizen, in the caller's transaction; with ``survey`` also the "is it
    fixed?" question, due after ``QANAT_SURVEY_DELAY_HOURS``. Returns the ids of the
    tickets whose citizens will be told (send them with :func:`send_due_notices` after
    the commit); a ticket whose channel cannot answer is left to staff. ``key`` makes
    the notice once-only (``transferred:ewa``); without it each call is a new round.
    """
    if not settings.notices:
        return []
    now = now or utcnow()
    quiet = notices.parse_quiet_hours(settings.notice_quiet_hours)
    told: list[int] = []
    for ticket in tickets:
        assert ticket.id is not None
        language = notices.language_of(ticket.language)
        filled = {
            name: value if isinstance(value, str) else value.get(language, "")
            for name, value in (values or {}).items()
        }
        if "department" in notices.PLACEHOLDERS[kind] and "department" not in filled:
            filled["department"] = await notices.department_name(
                session, ticket.department_id, language
            )
        due = notices.due_time(ticket.channel, now, quiet=quiet, tz=settings.tz)
        round_key = key or await notices.next_key(session, ticket_id=ticket.id, kind=kind)
        notice = await notices.add_notice(
            session, ticket=ticket, kind=kind, values=filled, due_at=due, key=round_key
        )
        if notice is None:
            continue
        told.append(ticket.id)
        if survey:
            later = now + timedelta(hours=settings.survey_delay_hours)
            await notices.add_notice(
                session,
                ticket=ticket,
                kind="survey",
                values={},
                due_at=notices.due_time(ticket.channel, later, quiet=quiet, tz=settings.tz),
                key=await notices.next_key(session, ticket_id=ticket.id, kind="survey"),
            )
    return told
