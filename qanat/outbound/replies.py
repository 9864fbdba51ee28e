"""Staff replies to citizens: stored first, then sent on the citizen's own channel.

A reply is saved as an outbound ``message`` row (state ``queued``) in the same
transaction that marks the ticket answered, so nothing staff wrote is lost. Then the
sender registered for the channel (``runtime.senders``) delivers it; the row becomes
``sent`` (with the channel's id for it, so the citizen's answer threads back) or
``failed`` with the reason. Channels with no sender — the call centre, the majlis,
letters — get ``by_hand``: staff deliver it themselves and mark it delivered.
"""

from __future__ import annotations

import logging
import re
import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from qanat.errors import BadPayload, NotFound
from qanat.model import Reply, Sender, SentReply, Visibility
from qanat.store import audit, queries
from qanat.store.access import Viewer
from qanat.store.tables import ContactIdentity, Message, Ticket, utcnow

if TYPE_CHECKING:
    from qanat.runtime import Runtime

log = logging.getLogger(__name__)

QUEUED, SENT, FAILED, BY_HAND = "queued", "sent", "failed", "by_hand"
_PLACEHOLDER = re.compile(r"\{(reference|name)\}")


class ReplySender(Protocol):
    """Delivers a reply on one channel (a connector's ``send``)."""

    async def send(self, reply: Reply) -> SentReply:
        """Send ``reply``; return the channel's id for the sent message. Raise on failure."""
        ...


@dataclass(frozen=True)
class CannedReply:
    """A ready-made reply in both languages; ``{reference}`` and ``{name}`` are filled in."""

    key: str
    ar: str
    en: str

    def text(self, language: str | None) -> str:
        """The reply in ``language`` (Arabic unless English)."""
        return self.en if language == "en" else self.ar


CANNED_REPLIES = (
    CannedReply(
        "received",
        "شكرًا لتواصلكم {name}. استلمنا بلاغكم برقم {reference} وسنتابعه مع القسم المختص.",
        "Thank you {name}. We received your report as {reference} and passed it to the "
        "department in charge.",
    ),
    CannedReply(
        "need_location",
        "نرجو تزويدنا بعنوان الموقع (رقم المبنى والطريق والمجمع) للبلاغ رقم {reference}.",
        "Please send us the address (building, road and block) for report {reference}.",
    ),
    CannedReply(
        "in_progress",
        "فريقنا يعمل على بلاغكم رقم {reference}، وسنبلغكم عند الانتهاء.",
        "Our team is working on your report {reference}; we will tell you when it is done.",
    ),
    CannedReply(
        "resolved",
        "تمت معالجة بلاغكم رقم {reference}. شكرًا لمساهمتكم في خدمة المنطقة.",
        "Your report {reference} has been resolved. Thank you for helping your area.",
    ),
)


def canned(key: str) -> CannedReply:
    """The canned reply named ``key``."""
    for reply in CANNED_REPLIES:
        if reply.key == key:
            return reply
    raise NotFound(f"no canned reply {key!r}")


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


async def citizen_message(session: AsyncSession, *, ticket_id: int) -> Message | None:
    """The citizen's latest message on a ticket: the channel and address a reply goes to."""
    statement = (
        select(Message)
        .where(col(Message.ticket_id) == ticket_id, col(Message.direction) == "in")
        .order_by(col(Message.received_at).desc(), col(Message.id).desc())
        .limit(1)
    )
    return (await session.execute(statement)).scalar_one_or_none()


def reply_to(ticket: Ticket, message: Message, text: str) -> Reply:
    """The :class:`Reply` answering ``message`` of ``ticket`` with ``text``."""
    subject = None
    if message.subject:
        subject = (
            message.subject
            if message.subject.lower().startswith("re:")
            else "Re: " + (message.subject)
        )
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
        subject=subject,
        language="en" if ticket.language == "en" else "ar",
        in_reply_to=[message.external_id],
    )


async def private_values(session: AsyncSession, *, contact_id: int | None) -> list[str]:
    """The citizen's phone numbers and email addresses, from every channel they used: what
    a public reply (an X post) must never show."""
    if contact_id is None:
        return []
    statement = select(ContactIdentity.value).where(
        col(ContactIdentity.contact_id) == contact_id,
        col(ContactIdentity.kind).in_(("phone", "email")),
    )
    return sorted((await session.execute(statement)).scalars())


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
    answered = await citizen_message(session, ticket_id=ticket.id)
    if answered is None:
        raise BadPayload(f"{ticket.reference} has no message from a citizen to answer")
    reply = reply_to(ticket, answered, text.strip())
    reply.metadata["private_values"] = await private_values(session, contact_id=ticket.contact_id)
    if visibility is not None:
        reply.metadata["visibility"] = visibility
    now = utcnow()
    row = Message(
        channel=reply.channel,
        account=reply.account,
        external_id=f"qanat-reply-{uuid.uuid4().hex}",
        direction="out",
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


async def deliver(
    runtime: Runtime, *, message_id: int, reply: Reply, viewer: Viewer
) -> ReplyResult:
    """Hand a stored reply to its channel's sender and record what happened."""
    sender = runtime.sender_for(reply.channel, reply.account)
    sent: SentReply | None = None
    if sender is None:
        state, detail = BY_HAND, f"no sender for channel {reply.channel}: deliver by hand"
    else:
        try:
            sent = await sender.send(reply)
            state, detail = SENT, ""
        except Exception as exc:
            log.exception("reply %s on %s failed", message_id, reply.channel)
            state, detail = FAILED, f"{type(exc).__name__}: {exc}"[:2000]
    async with runtime.db.writing() as session:
        row = await session.get(Message, message_id)
        assert row is not None
        row.state, row.state_reason = state, detail or None
        if sent is not None:
            row.external_id = sent.external_id
            row.processed_at = utcnow()
            row.channel_metadata = {**row.channel_metadata, "sent": sent.metadata}
        await queries.add_event(
            session,
            actor=viewer.actor,
            type=f"reply_{state}",
            ticket_id=row.ticket_id,
            message_id=message_id,
            data={"channel": reply.channel, "detail": detail}
            if detail
            else {"channel": reply.channel},
        )
    return ReplyResult(message_id, reply.ticket_reference, reply.channel, state, detail)


async def send_reply(
    runtime: Runtime, *, ticket_id: int, text: str, viewer: Viewer, ip: str | None = None
) -> ReplyResult:
    """Store a reply to the ticket, then send it on the citizen's channel."""
    async with runtime.db.writing() as session:
        ticket = await session.get(Ticket, ticket_id)
        if ticket is None:
            raise NotFound(f"no ticket {ticket_id}")
        message_id, reply = await queue_reply(
            session, ticket=ticket, text=text, viewer=viewer, ip=ip
        )
    return await deliver(runtime, message_id=message_id, reply=reply, viewer=viewer)


async def tell_reporters(
    runtime: Runtime,
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
        body = text or canned("resolved").text(ticket.language)
        try:
            results.append(
                await send_reply(runtime, ticket_id=ticket.id, text=body, viewer=viewer, ip=ip)
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
