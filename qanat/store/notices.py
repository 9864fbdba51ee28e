"""What qanat tells citizens by itself, and when.

A notice is decided where its cause happens, in that transaction — the acknowledgement
with the new ticket, "on hold" with the status change — as a ``citizen_notice`` row:
once per ticket and key, so processing a message twice or a webhook retried adds
nothing. The row waits until it is due (quiet hours, the survey's delay), then
:func:`release_due` turns it into a queued outbound message on the citizen's own
channel, which the reply job sends with retries (a failure shows on the ticket).

The wording comes from templates admins edit (``notice_template``), else the defaults
below, in the citizen's language; :func:`render` fills only the named placeholders.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import bindparam
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from qanat.errors import BadPayload
from qanat.model import DeliveryState, Direction, Reply, Sender
from qanat.store import queries
from qanat.store.notice_tables import CitizenNotice, NoticeOptOut, NoticeTemplate
from qanat.store.tables import Department, Message, Ticket, utcnow

#: Channels qanat can answer on by itself (a connector sends on them).
ANSWERING_CHANNELS = frozenset({"sms", "telegram", "x", "email", "web", "app"})
#: Channels that cannot answer themselves: their notices go to the email address or
#: phone number the citizen gave (see :func:`release_due`'s ``route``).
CONTACT_CHANNELS = frozenset({"web", "app"})
#: Where a notice goes: (channel, account), or None when nothing can send it.
Route = Callable[[Message], "tuple[str, str] | None"]


def same_channel(message: Message) -> tuple[str, str] | None:
    """Answer on the channel and account the citizen wrote on."""
    return message.channel, message.account


#: Who notices are from, on the timeline and in the message rows.
QANAT = "qanat"

WAITING, RELEASED, SKIPPED = "waiting", "released", "skipped"

#: The kinds of notice, in the order the settings page lists them.
KINDS = (
    "ack",
    "known",
    "pending",
    "transferred",
    "resolved",
    "survey",
    "thanks",
    "reopened",
    "stopped",
)

#: The placeholders each kind of notice may hold.
PLACEHOLDERS: dict[str, tuple[str, ...]] = {
    "ack": ("reference", "what", "department", "expected"),
    "known": ("reference", "what", "department"),
    "pending": ("reference", "needed"),
    "transferred": ("reference", "body"),
    "resolved": ("reference", "resolution"),
    "survey": ("reference",),
    "thanks": ("reference",),
    "reopened": ("reference", "department", "expected"),
    "stopped": (),
}

#: The wording qanat ships, in Arabic and English.
DEFAULTS: dict[str, dict[str, str]] = {
    "ack": {
        "ar": "وصلنا {what} ورقمه المرجعي {reference}، وأُحيل إلى {department} ونتوقع "
        "إنجازه {expected}. للإضافة ردّ على هذه الرسالة.",
        "en": "We received {what}. Your reference is {reference}. {department} will deal "
        "with it {expected}. Reply to this message to add anything.",
    },
    "known": {
        "ar": "شكرًا لك. هذه المشكلة مبلَّغ عنها من قبل، وهي قيد المعالجة لدى {department}. "
        "رقمك المرجعي {reference}.",
        "en": "Thank you. This problem has already been reported and {department} is "
        "working on it. Your reference is {reference}.",
    },
    "pending": {
        "ar": "بخصوص {reference}: نحتاج منك لمتابعة العمل: {needed} نرجو الرد على هذه الرسالة.",
        "en": "About {reference}: to carry on we need from you: {needed} Please reply to "
        "this message.",
    },
    "transferred": {
        "ar": "بخصوص {reference}: هذا الأمر من اختصاص {body}، وقد أحلناه إليها وسنبقيك على اطلاع.",
        "en": "About {reference}: this is the responsibility of {body}. We have passed it "
        "on to them and will keep you informed.",
    },
    "resolved": {
        "ar": "بخصوص {reference}: تمت معالجة بلاغك. {resolution}",
        "en": "About {reference}: your report has been dealt with. {resolution}",
    },
    "survey": {
        "ar": "بخصوص {reference}: هل حُلّت المشكلة؟ ردّ برقم من 1 إلى 5 (5 = راضٍ جدًا) أو بـ نعم / لا.",
        "en": "About {reference}: is the problem fixed? Reply with a number from 1 to 5 "
        "(5 = very satisfied), or YES / NO.",
    },
    "thanks": {
        "ar": "شكرًا لرأيك في {reference}.",
        "en": "Thank you for your answer about {reference}.",
    },
    "reopened": {
        "ar": "نأسف لذلك. أعدنا فتح {reference} لدى {department} ونتوقع إنجازه {expected}.",
        "en": "We are sorry. We have reopened {reference} and {department} will deal with "
        "it {expected}.",
    },
    "stopped": {
        "ar": "لن تصلك منا رسائل تلقائية بعد الآن.",
        "en": "You will get no more automatic messages from us.",
    },
}

#: What the citizen sent, by the ticket's kind ({what}).
_WHAT = {
    "ar": {
        "complaint": "بلاغك",
        "suggestion": "اقتراحك",
        "inquiry": "استفسارك",
        "request": "طلبك",
        "compliment": "شكرك",
    },
    "en": {
        "complaint": "your report",
        "suggestion": "your suggestion",
        "inquiry": "your question",
        "request": "your request",
        "compliment": "your kind words",
    },
}

_PLACEHOLDER = re.compile(r"\{([a-z_]+)\}")
_ANY_PLACEHOLDER = re.compile(r"\{([^{}]*)\}")


def language_of(ticket_language: str | None) -> str:
    """The notice language for a ticket's detected language: English, else Arabic."""
    return "en" if (ticket_language or "").lower().startswith("en") else "ar"


def render(template: str, values: Mapping[str, str]) -> str:
    """``template`` with its ``{placeholders}`` filled (no format tricks): one without a
    value is left empty — a citizen never reads "{resolution}" — and the spaces an
    empty value leaves are tidied."""
    filled = _PLACEHOLDER.sub(lambda match: values.get(match.group(1), ""), template)
    filled = re.sub(r"[ \t]{2,}", " ", filled)
    return re.sub(r"[ \t]+([.,،:])", r"\1", filled).strip()


def check_template(kind: str, text: str) -> None:
    """Refuse a template that is empty or names a placeholder its kind does not have."""
    if kind not in PLACEHOLDERS:
        raise BadPayload(f"no kind of notice {kind!r}")
    if not text.strip():
        raise BadPayload("a template needs some text")
    if len(text) > 2000:
        raise BadPayload("a template is at most 2000 characters")
    allowed = PLACEHOLDERS[kind]
    for name in _ANY_PLACEHOLDER.findall(text):
        if name not in allowed:
            shown = ", ".join("{" + n + "}" for n in allowed) or "none"
            raise BadPayload(f"{{{name}}} is not a placeholder of this notice (it has {shown})")


def what_words(kind: str | None, language: str) -> str:
    """ "your report", "اقتراحك": what the citizen sent, by the ticket's kind."""
    words = _WHAT[language_of(language)]
    return words.get(kind or "complaint", words["complaint"])


def _arabic_count(amount: int, one: str, two: str, few: str, many: str) -> str:
    """An Arabic count with its noun in the right number (1, 2, 3–10, 11+)."""
    if amount == 1:
        return one
    if amount == 2:
        return two
    if 3 <= amount <= 10:
        return f"{amount} {few}"
    return f"{amount} {many}"


def within_words(amount: int, unit: str, language: str) -> str:
    """ "within 2 working days" / "خلال يومي عمل": an expected time in the citizen's words.

    ``unit`` is ``working_days``, ``working_hours``, ``days`` or ``hours``.
    """
    amount = max(1, amount)
    if language_of(language) == "en":
        names = {
            "working_days": ("working day", "working days"),
            "working_hours": ("working hour", "working hours"),
            "days": ("day", "days"),
            "hours": ("hour", "hours"),
        }[unit]
        return f"within {amount} {names[0] if amount == 1 else names[1]}"
    arabic = {
        "working_days": ("يوم عمل واحد", "يومي عمل", "أيام عمل", "يوم عمل"),
        "working_hours": ("ساعة عمل واحدة", "ساعتي عمل", "ساعات عمل", "ساعة عمل"),
        "days": ("يوم واحد", "يومين", "أيام", "يومًا"),
        "hours": ("ساعة واحدة", "ساعتين", "ساعات", "ساعة"),
    }[unit]
    return "خلال " + _arabic_count(amount, *arabic)


@dataclass(frozen=True)
class QuietHours:
    """When a channel sends no notices (local time; the span may cross midnight)."""

    starts: time
    ends: time

    def holds(self, moment: datetime, tz: ZoneInfo) -> datetime | None:
        """When a notice due at ``moment`` may go: None when it may go now."""
        local = moment.astimezone(tz)
        now = local.time()
        inside = (
            self.starts <= now < self.ends
            if self.starts <= self.ends
            else now >= self.starts or now < self.ends
        )
        if not inside:
            return None
        day = local.date() if now < self.ends else local.date() + timedelta(days=1)
        return datetime.combine(day, self.ends, tzinfo=tz)


def parse_quiet_hours(text: str) -> dict[str, QuietHours]:
    """``sms=21:00-07:00,telegram=23:00-06:00`` as quiet hours by channel."""
    found: dict[str, QuietHours] = {}
    for part in text.split(","):
        if not part.strip():
            continue
        channel, _, span = part.partition("=")
        starts, _, ends = span.partition("-")
        try:
            found[channel.strip()] = QuietHours(
                time.fromisoformat(starts.strip()), time.fromisoformat(ends.strip())
            )
        except ValueError as exc:
            raise ValueError(f"quiet hours {part.strip()!r} are not like sms=21:00-07:00") from exc
    return found


def due_time(
    channel: str, moment: datetime, *, quiet: Mapping[str, QuietHours], tz: ZoneInfo
) -> datetime:
    """When a notice on ``channel`` wanted at ``moment`` goes: then, or when its quiet
    hours end."""
    hours = quiet.get(channel)
    held = hours.holds(moment, tz) if hours else None
    return held or moment


async def template_text(session: AsyncSession, *, kind: str, language: str) -> str:
    """The wording in force of ``kind`` in ``language``: the admins', else the default."""
    language = language_of(language)
    statement = select(NoticeTemplate.text).where(
        col(NoticeTemplate.kind) == kind, col(NoticeTemplate.language) == language
    )
    edited = (await session.execute(statement)).scalar_one_or_none()
    return edited if edited is not None else DEFAULTS[kind][language]


async def templates(session: AsyncSession) -> dict[str, dict[str, str]]:
    """Every kind's wording in force, by kind then language."""
    found = {kind: dict(DEFAULTS[kind]) for kind in KINDS}
    for row in (await session.execute(select(NoticeTemplate))).scalars():
        if row.kind in found:
            found[row.kind][row.language] = row.text
    return found


async def save_template(
    session: AsyncSession, *, kind: str, language: str, text: str, by: str
) -> None:
    """Put an admin's wording of ``kind`` in ``language`` in force (checked first)."""
    check_template(kind, text)
    if language not in ("ar", "en"):
        raise BadPayload("a template is in Arabic (ar) or English (en)")
    statement = select(NoticeTemplate).where(
        col(NoticeTemplate.kind) == kind, col(NoticeTemplate.language) == language
    )
    row = (await session.execute(statement)).scalar_one_or_none()
    row = row or NoticeTemplate(kind=kind, language=language, text="")
    row.text, row.updated_by, row.updated_at = text.strip(), by, utcnow()
    session.add(row)


async def department_name(session: AsyncSession, department_id: int | None, language: str) -> str:
    """The department's name in the citizen's language (a neutral word when none)."""
    department = await session.get(Department, department_id) if department_id else None
    if department is None:
        return "the department in charge" if language_of(language) == "en" else "الجهة المختصة"
    return department.name_en if language_of(language) == "en" else department.name_ar


#: A notice of this key decided for this ticket before (built once: see add_notice).
_DECIDED = select(col(CitizenNotice.id)).where(
    col(CitizenNotice.ticket_id) == bindparam("ticket_id"),
    col(CitizenNotice.key) == bindparam("key"),
)


async def add_notice(
    session: AsyncSession,
    *,
    ticket: Ticket,
    kind: str,
    values: Mapping[str, str],
    due_at: datetime | None = None,
    key: str | None = None,
    wording: Mapping[str, Mapping[str, str]] | None = None,
    opened_now: bool = False,
) -> CitizenNotice | None:
    """Decide one notice to ``ticket``'s citizen, in the caller's transaction.

    Returns None (nothing added) when the ticket's channel cannot answer or this key was
    decided before: a notice is never decided twice. ``wording`` is every kind's wording
    in force (:func:`templates`) when the caller read it already; ``opened_now``: the
    ticket was opened in this transaction, so nothing was decided for it before (the
    pipeline's acknowledgement: a query a message saved).
    """
    assert ticket.id is not None
    if ticket.channel not in ANSWERING_CHANNELS:
        return None
    key = key or kind
    if not opened_now:
        decided = await session.execute(_DECIDED, {"ticket_id": ticket.id, "key": key})
        if decided.first():
            return None
    language = language_of(ticket.language)
    template = (
        wording[kind][language]
        if wording is not None
        else await template_text(session, kind=kind, language=language)
    )
    text = render(template, {"reference": ticket.reference, **values})
    notice = CitizenNotice(
        ticket_id=ticket.id,
        kind=kind,
        key=key,
        channel=ticket.channel,
        language=language,
        text=text,
        due_at=due_at or utcnow(),
    )
    session.add(notice)
    return notice


async def next_key(session: AsyncSession, *, ticket_id: int, kind: str) -> str:
    """A key for a kind that may come again on a ticket (``pending``, ``pending:2``, …)."""
    statement = select(col(CitizenNotice.key)).where(
        col(CitizenNotice.ticket_id) == ticket_id, col(CitizenNotice.kind) == kind
    )
    taken = set((await session.execute(statement)).scalars())
    if kind not in taken:
        return kind
    return f"{kind}:{len(taken) + 1}"


async def opted_out(session: AsyncSession, *, channel: str, address: str) -> bool:
    """True when ``address`` answered STOP on ``channel``."""
    statement = select(col(NoticeOptOut.id)).where(
        col(NoticeOptOut.channel) == channel, col(NoticeOptOut.address) == address
    )
    return (await session.execute(statement)).first() is not None


async def opt_out(session: AsyncSession, *, channel: str, address: str) -> bool:
    """Record that ``address`` wants no more notices on ``channel``; False if it had."""
    if await opted_out(session, channel=channel, address=address):
        return False
    session.add(NoticeOptOut(channel=channel, address=address))
    return True


def address_of(message: Message) -> str:
    """Where a citizen's message came from, as opt-outs are kept: phone, email, handle."""
    return message.sender_phone or message.sender_email or message.sender_handle


async def release_due(
    session: AsyncSession,
    *,
    now: datetime | None = None,
    ticket_ids: Iterable[int] | None = None,
    limit: int = 500,
    route: Route = same_channel,
) -> list[int]:
    """Turn the notices due by ``now`` into queued outbound messages; their ids.

    The message goes where the citizen last wrote on the ticket, threaded under it; a
    citizen who opted out, a ticket with no citizen message, or a citizen nothing can
    reach (``route`` says where a notice goes: the same channel, or for the web form and
    the app the email or phone they gave; None — no staff deliver a robot's notice by
    hand) is skipped with the reason.
    """
    now = now or utcnow()
    statement = (
        select(CitizenNotice)
        .where(col(CitizenNotice.state) == WAITING, col(CitizenNotice.due_at) <= now)
        .order_by(col(CitizenNotice.id))
        .limit(limit)
    )
    if ticket_ids is not None:
        statement = statement.where(col(CitizenNotice.ticket_id).in_(list(ticket_ids)))
    released: list[int] = []
    for notice in (await session.execute(statement)).scalars():
        message_id = await _release(session, notice, route)
        if message_id is not None:
            released.append(message_id)
    return released


async def _release(session: AsyncSession, notice: CitizenNotice, route: Route) -> int | None:
    ticket = await session.get(Ticket, notice.ticket_id)
    answered = await queries.citizen_message(session, ticket_id=notice.ticket_id)
    if ticket is None or answered is None:
        notice.state, notice.state_reason = SKIPPED, "no message from the citizen to answer"
        return None
    where = route(answered)
    if where is None:
        notice.state, notice.state_reason = SKIPPED, "nothing can send it to this citizen"
        return None
    channel, account = where
    address = {"email": answered.sender_email, "sms": answered.sender_phone}.get(channel)
    address = address or address_of(answered)
    if await opted_out(session, channel=channel, address=address):
        notice.state, notice.state_reason = SKIPPED, "the citizen asked for no more notices"
        return None
    threaded = channel == answered.channel
    reply = Reply(
        ticket_reference=ticket.reference,
        channel=channel,
        account=account,
        to=Sender(
            handle=answered.sender_handle,
            name=answered.sender_name,
            email=answered.sender_email,
            phone=answered.sender_phone,
        ),
        text=notice.text,
        subject=queries.reply_subject(answered.subject) if threaded else None,
        language=notice.language,
        in_reply_to=[answered.external_id] if threaded else [],
        metadata={
            "private_values": await queries.private_values(session, contact_id=ticket.contact_id),
            "notice": notice.kind,
            # Marked as a robot's mail, so auto-responders do not answer it.
            "automatic": True,
        },
    )
    row = Message(
        channel=reply.channel,
        account=reply.account,
        external_id=f"qanat-notice-{notice.id}",
        direction=Direction.outbound,
        received_at=utcnow(),
        sender_handle=QANAT,
        sender_name=QANAT,
        subject=reply.subject,
        text=reply.text,
        in_reply_to=list(reply.in_reply_to),
        channel_metadata={"to": reply.to.model_dump(exclude_none=True), "notice": notice.kind},
        raw=reply.model_dump_json().encode(),
        state=DeliveryState.queued,
        ticket_id=ticket.id,
        contact_id=ticket.contact_id,
    )
    session.add(row)
    await session.flush()
    assert row.id is not None
    notice.message_id, notice.state = row.id, RELEASED
    session.add(notice)
    return row.id


async def notices_of(session: AsyncSession, *, ticket_id: int) -> Sequence[CitizenNotice]:
    """A ticket's notices, oldest first (the ticket page shows them and the answer)."""
    statement = (
        select(CitizenNotice)
        .where(col(CitizenNotice.ticket_id) == ticket_id)
        .order_by(col(CitizenNotice.id))
    )
    return list((await session.execute(statement)).scalars())


async def awaiting_survey(session: AsyncSession, *, ticket_id: int) -> CitizenNotice | None:
    """The ticket's survey that was sent and not yet answered (the newest), if any."""
    statement = (
        select(CitizenNotice)
        .where(
            col(CitizenNotice.ticket_id) == ticket_id,
            col(CitizenNotice.kind) == "survey",
            col(CitizenNotice.state) == RELEASED,
            col(CitizenNotice.answered_at).is_(None),
        )
        .order_by(col(CitizenNotice.id).desc())
        .limit(1)
    )
    return (await session.execute(statement)).scalar_one_or_none()


async def ticket_awaiting_answer(
    session: AsyncSession, *, contact_id: int, since: datetime
) -> Ticket | None:
    """The citizen's resolved ticket whose survey went out after ``since`` and waits for
    an answer (the newest): where a bare "5" or "لا" from them belongs."""
    statement = (
        select(Ticket)
        .join(CitizenNotice, col(CitizenNotice.ticket_id) == col(Ticket.id))
        .join(Message, col(Message.id) == col(CitizenNotice.message_id))
        .where(
            col(Ticket.contact_id) == contact_id,
            col(Ticket.status).in_(("resolved", "closed")),
            col(CitizenNotice.kind) == "survey",
            col(CitizenNotice.state) == RELEASED,
            col(CitizenNotice.answered_at).is_(None),
            col(Message.created_at) >= since,
        )
        .order_by(col(Message.created_at).desc())
        .limit(1)
    )
    return (await session.execute(statement)).scalars().first()
