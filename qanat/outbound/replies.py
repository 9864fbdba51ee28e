"""Staff replies to citizens: stored first, then sent on the citizen's own channel.

A reply is saved as an outbound ``message`` row (state ``queued``) in the same
transaction that marks the ticket answered, so nothing staff wrote is lost. Then a
queued job (:func:`deliver_reply`) hands it to the channel's sender; the row becomes
``sent`` (with the channel's id for it, so the citizen's answer threads back). A send
that fails for a passing reason (a gateway down) is tried again, with a back-off, up to
``QANAT_SEND_ATTEMPTS`` times; then, or at once when the channel refuses it, the row is
``failed`` with the reason, shown on the ticket. Channels with no sender — the call
centre, the majlis, letters — get ``by_hand``: staff deliver it and mark it delivered.
A job run twice sends nothing twice: only a ``queued`` row is sent.
"""

from __future__ import annotations

import logging
import re
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from qanat.errors import BadPayload, ForgedRequest, NotFound
from qanat.model import DeliveryState, Direction, Reply, Sender, SentReply, Visibility
from qanat.outbound.deps import SEND_REPLY, Delivery, OutboundDeps
from qanat.store import audit, notices, queries
from qanat.store.access import Viewer
from qanat.store.canned import resolved_text
from qanat.store.tables import Message, Ticket, utcnow

log = logging.getLogger(__name__)

QUEUED, SENT, FAILED, BY_HAND = (
    DeliveryState.queued,
    DeliveryState.sent,
    DeliveryState.failed,
    DeliveryState.by_hand,
)
#: Errors that say the channel refused the reply for good: trying again cannot help.
REFUSED = (BadPayload, ForgedRequest)
_PLACEHOLDER = re.compile(r"\{(reference|name)\}")


def fill_placeholders(text: str, *, reference: str, name: str | None) -> str:
    """``text`` with ``{reference}`` and ``{name}`` replaced (only those: no format tricks)."""
    values = {"reference": reference, "name": (name or "").strip()}
    filled = _PLACEHOLDER.sub(lambda match: values[match.group(1)], text)
    return re.sub(r"[ \t]+([.,،])", r"\1", filled).strip()


@dataclass(frozen=True)
class ReplyResult:
    """What became of a reply: its message id, and ``sent``, ``failed`` or ``by_hand``."""

    message_id: int
    ticket_reference: str
    channel: str
    state: str
    detail: str = ""


def reply_to(ticket: Ticket, message: Message, text: str) -> Reply:
    """The :class:`Reply` answering ``message`` of ``ticket`` with ``text``."""
    return Reply(
        ticket_reference=ticket.reference,
        channel=message.channel,
        account=message.account,
        to=Sender(
            handle=message.sender_handle,
            name=message.sender_name,
            email=message.sender_email,
            phone=message.sender_phone,
        ),
        text=fill_placeholders(text, reference=ticket.reference, name=message.sender_name),
        subject=queries.reply_subject(message.subject),
        language=notices.language_of(ticket.language),
        in_reply_to=[message.external_id],
    )


async def queue_reply(
    session: AsyncSession,
    *,
    ticket: Ticket,
    text: str,
    viewer: Viewer,
    ip: str | None,
    visibility: Visibility | None = None,
) -> tuple[int, Reply]:
    """Store a reply to ``ticket`` as a queued outbound message, in the caller's transaction.

    ``visibility`` is staff's choice where a channel has both (X: a public reply under the
    citizen's post, or a private message); without it the channel answers the way the
    citizen wrote.
    """
    if not text.strip():
        raise BadPayload("a reply needs some text")
    assert ticket.id is not None
    answered = await queries.citizen_message(session, ticket_id=ticket.id)
    if answered is None:
        raise BadPayload(f"{ticket.reference} has no message from a citizen to answer")
    reply = reply_to(ticket, answered, text.strip())
    reply.metadata["private_values"] = await queries.private_values(
        session, contact_id=ticket.contact_id
    )
    if visibility is not None:
        reply.metadata["visibility"] = visibility
    now = utcnow()
    row = Message(
        channel=reply.channel,
        account=reply.account,
        external_id=f"qanat-reply-{uuid.uuid4().hex}",
        direction=Direction.outbound,
        received_at=now,
        sender_handle=viewer.actor,
        sender_name=viewer.display_name,
        subject=reply.subject,
        text=reply.text,
        in_reply_to=list(reply.in_reply_to),
        channel_metadata={"to": reply.to.model_dump(exclude_none=True)},
        raw=reply.model_dump_json().encode(),
        state=QUEUED,
        ticket_id=ticket.id,
        contact_id=ticket.contact_id,
    )
    session.add(row)
    if ticket.first_response_at is None:
        ticket.first_response_at = now
    ticket.updated_at = now
    session.add(ticket)
    await session.flush()
    assert row.id is not None
    detail = {"message_id": row.id, "channel": reply.channel}
    await audit.record(
        session, viewer=viewer, action="reply", ticket_id=ticket.id, detail=detail, ip=ip
    )
    return row.id, reply


def reply_job_id(message_id: int) -> str:
    """The queue's id for sending reply ``message_id``: queued once, however often asked."""
    return f"{SEND_REPLY}:{message_id}"


async def deliver_reply(deps: OutboundDeps, message_id: int) -> Delivery:
    """The job: send a queued reply on its channel and record what happened.

    Returns ``retry`` when the send failed for a passing reason and tries are left (the
    queue runs the job again later); only a ``queued`` row is ever sent.
    """
    async with deps.db.session() as session:
        row = await session.get(Message, message_id)
        if row is None or row.state != QUEUED:
            return Delivery.skipped
        reply = Reply.model_validate_json(row.raw)
    sender = deps.sender_for(reply.channel, reply.account)
    if sender is None:
        detail = f"no sender for channel {reply.channel}: deliver by hand"
        return await _settle(deps, message_id, Delivery.by_hand, detail=detail)
    try:
        sent = await sender.send(reply)
    except REFUSED as exc:
        return await _settle(deps, message_id, Delivery.failed, detail=str(exc)[:2000])
    except Exception as exc:  # a gateway down, a timeout, a connector bug: try again later
        log.warning("reply %s on %s failed: %s", message_id, reply.channel, type(exc).__name__)
        return await _record_try(deps, message_id, f"{type(exc).__name__}: {exc}"[:2000])
    return await _settle(deps, message_id, Delivery.sent, sent=sent)


async def _record_try(deps: OutboundDeps, message_id: int, detail: str) -> Delivery:
    """Count a failed try: ``retry`` while tries are left, else the reply has failed."""
    async with deps.db.writing() as session:
        row = await session.get(Message, message_id)
        assert row is not None
        row.attempts += 1
        row.state_reason = detail
        if row.attempts < deps.settings.send_attempts:
            return Delivery.retry
    return await _settle(deps, message_id, Delivery.failed, detail=detail)


async def _settle(
    deps: OutboundDeps,
    message_id: int,
    outcome: Delivery,
    *,
    detail: str = "",
    sent: SentReply | None = None,
) -> Delivery:
    """Record how a reply ended: the row's state and an event on the ticket."""
    async with deps.db.writing() as session:
        row = await session.get(Message, message_id)
        assert row is not None
        row.state, row.state_reason = DeliveryState(outcome.value), detail or None
        if sent is not None:
            row.external_id = sent.external_id
            row.processed_at = utcnow()
            row.channel_metadata = {**row.channel_metadata, "sent": sent.metadata}
        data: dict[str, Any] = {"channel": row.channel}
        notice = row.channel_metadata.get("notice")
        if notice:  # qanat's own notice, not staff's
            data["notice"] = notice
        if detail:
            data["detail"] = detail
        if row.attempts:  # failed tries before this outcome
            data["tries"] = row.attempts + int(outcome == Delivery.sent)
        await queries.add_event(
            session,
            actor=row.sender_handle,  # the member of staff who wrote it
            type=f"reply_{outcome.value}",
            ticket_id=row.ticket_id,
            message_id=message_id,
            data=data,
        )
        if notice and outcome == Delivery.sent:  # what qanat itself sent, to whom, when
            to = row.channel_metadata.get("to", {})
            address = to.get("phone") or to.get("email") or to.get("handle")
            sent_to: dict[str, Any] = {
                "message_id": message_id,
                "notice": notice,
                "channel": row.channel,
                "to": address,
            }
            await audit.record(
                session,
                viewer=None,
                actor=row.sender_handle,
                action="notice_sent",
                ticket_id=row.ticket_id,
                detail=sent_to,
            )
    return outcome


async def reply_result(deps: OutboundDeps, message_id: int) -> ReplyResult:
    """Where a reply stands now (``queued`` until its job has run)."""
    async with deps.db.session() as session:
        row = await session.get(Message, message_id)
        if row is None:
            raise NotFound(f"no reply {message_id}")
        ticket = await session.get(Ticket, row.ticket_id) if row.ticket_id else None
    reference = ticket.reference if ticket else ""
    return ReplyResult(message_id, reference, row.channel, row.state, row.state_reason or "")


async def send_queued(deps: OutboundDeps, message_id: int) -> ReplyResult:
    """Hand a stored reply to the queue, and say where it stands.

    Inline (no Redis) the job has run by the time this returns; with workers the reply
    is usually still ``queued``. A queue that is down leaves the row ``queued``, and the
    sweep of unsent replies queues it again.
    """
    try:
        await deps.queue.enqueue(SEND_REPLY, message_id, job_id=reply_job_id(message_id))
    except Exception:
        log.exception("reply %s saved but not queued", message_id)
    return await reply_result(deps, message_id)


async def send_reply(
    deps: OutboundDeps, *, ticket_id: int, text: str, viewer: Viewer, ip: str | None = None
) -> ReplyResult:
    """Store a reply to the ticket, then queue it for sending on the citizen's channel."""
    async with deps.db.writing() as session:
        ticket = await session.get(Ticket, ticket_id)
        if ticket is None:
            raise NotFound(f"no ticket {ticket_id}")
        message_id, _reply = await queue_reply(
            session, ticket=ticket, text=text, viewer=viewer, ip=ip
        )
    return await send_queued(deps, message_id)


async def tell_reporters(
    deps: OutboundDeps,
    *,
    tickets: list[Ticket],
    viewer: Viewer,
    text: str | None = None,
    ip: str | None = None,
) -> list[ReplyResult]:
    """Reply to each ticket's citizen on their own channel (e.g. duplicates of a resolved one).

    Without ``text`` each gets the canned "resolved" reply in their own language.
    """
    results = []
    for ticket in tickets:
        assert ticket.id is not None
        body = text
        if not body:
            async with deps.db.session() as session:
                body = await resolved_text(session, ticket.language)
        try:
            results.append(
                await send_reply(deps, ticket_id=ticket.id, text=body, viewer=viewer, ip=ip)
            )
        except BadPayload as exc:  # a ticket with no citizen message cannot be answered
            log.warning("not telling %s: %s", ticket.reference, exc)
    return results


async def mark_delivered(
    session: AsyncSession, *, viewer: Viewer, ticket: Ticket, message_id: int, ip: str | None
) -> None:
    """Record that staff delivered a ``by_hand`` (or failed) reply themselves."""
    row = await session.get(Message, message_id)
    if row is None or row.ticket_id != ticket.id or row.state not in (BY_HAND, FAILED):
        raise NotFound(f"no reply {message_id} waiting for delivery on {ticket.reference}")
    row.state, row.state_reason, row.processed_at = SENT, "delivered by hand", utcnow()
    await queries.add_event(
        session,
        actor=viewer.actor,
        type="reply_delivered",
        ticket_id=ticket.id,
        message_id=message_id,
        data={"channel": row.channel},
    )
    await audit.record(
        session,
        viewer=viewer,
        action="reply_delivered",
        ticket_id=ticket.id,
        detail={"message_id": message_id},
        ip=ip,
    )
