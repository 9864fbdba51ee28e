"""Canned replies: ready-made answers in Arabic and English that staff pick from.

They live in the ``canned_reply`` table and are edited on the settings pages. The four
below are what a new store starts with (:func:`ensure_defaults`, run as a process starts):
a table that has rows is never touched again.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from qanat.errors import BadPayload, NotFound
from qanat.store.queries import insert_or
from qanat.store.settings_tables import CannedReply
from qanat.store.tables import utcnow

#: The placeholders a canned reply (or any reply) may hold; they are filled when sent.
PLACEHOLDERS = ("reference", "name")
_KEY = re.compile(r"^[a-z0-9_]{2,60}$")
_ANY_PLACEHOLDER = re.compile(r"\{([^{}]*)\}")


@dataclass(frozen=True)
class DefaultReply:
    """A canned reply a new store starts with."""

    key: str
    name_ar: str
    name_en: str
    ar: str
    en: str


DEFAULT_REPLIES = (
    DefaultReply(
        "received",
        "تأكيد الاستلام",
        "Received",
        "شكرًا لتواصلكم {name}. استلمنا بلاغكم برقم {reference} وسنتابعه مع القسم المختص.",
        "Thank you {name}. We received your report as {reference} and passed it to the "
        "department in charge.",
    ),
    DefaultReply(
        "need_location",
        "طلب العنوان",
        "Ask for the address",
        "نرجو تزويدنا بعنوان الموقع (رقم المبنى والطريق والمجمع) للبلاغ رقم {reference}.",
        "Please send us the address (building, road and block) for report {reference}.",
    ),
    DefaultReply(
        "in_progress",
        "قيد العمل",
        "In progress",
        "فريقنا يعمل على بلاغكم رقم {reference}، وسنبلغكم عند الانتهاء.",
        "Our team is working on your report {reference}; we will tell you when it is done.",
    ),
    DefaultReply(
        "resolved",
        "تمت المعالجة",
        "Resolved",
        "تمت معالجة بلاغكم رقم {reference}. شكرًا لمساهمتكم في خدمة المنطقة.",
        "Your report {reference} has been resolved. Thank you for helping your area.",
    ),
)


async def ensure_defaults(session: AsyncSession) -> None:
    """Give an empty table the default replies (processes starting together: one wins)."""
    if (await session.execute(select(col(CannedReply.id)).limit(1))).first() is not None:
        return
    now = utcnow()
    rows = [
        {
            "key": d.key,
            "name_ar": d.name_ar,
            "name_en": d.name_en,
            "text_ar": d.ar,
            "text_en": d.en,
            "position": n,
            "active": True,
            "updated_at": now,
        }
        for n, d in enumerate(DEFAULT_REPLIES)
    ]
    statement = insert_or(session, CannedReply).on_conflict_do_nothing(index_elements=["key"])
    await session.execute(statement, rows)


async def canned_replies(session: AsyncSession, *, active_only: bool = True) -> list[CannedReply]:
    """The canned replies in the order staff set."""
    statement = select(CannedReply).order_by(col(CannedReply.position), col(CannedReply.id))
    if active_only:
        statement = statement.where(col(CannedReply.active).is_(True))
    return list((await session.execute(statement)).scalars())


async def canned(session: AsyncSession, key: str) -> CannedReply:
    """The canned reply named ``key`` (:class:`NotFound` when there is none)."""
    found = await session.execute(select(CannedReply).where(col(CannedReply.key) == key))
    reply = found.scalar_one_or_none()
    if reply is None:
        raise NotFound(f"no canned reply {key!r}")
    return reply


async def resolved_text(session: AsyncSession, language: str | None) -> str:
    """The "resolved" reply in ``language`` (the shipped text when staff deleted it)."""
    try:
        return (await canned(session, "resolved")).text(language)
    except NotFound:
        default = DEFAULT_REPLIES[-1]
        return default.en if language == "en" else default.ar


def placeholder_problems(text: str) -> list[str]:
    """Placeholders in ``text`` that qanat cannot fill (``{nmae}``), as written."""
    return [m for m in _ANY_PLACEHOLDER.findall(text) if m not in PLACEHOLDERS]


@dataclass(frozen=True)
class CannedDraft:
    """What staff typed for a canned reply."""

    key: str
    name_ar: str
    name_en: str
    text_ar: str
    text_en: str
    active: bool = True


def check_draft(draft: CannedDraft) -> dict[str, str]:
    """Field → problem code for a draft (empty when it can be saved)."""
    problems: dict[str, str] = {}
    if not _KEY.match(draft.key):
        problems["key"] = "canned_key_invalid"
    for field in ("name_ar", "name_en", "text_ar", "text_en"):
        if not getattr(draft, field).strip():
            problems[field] = "field_required"
    for field in ("text_ar", "text_en"):
        if field not in problems and placeholder_problems(getattr(draft, field)):
            problems[field] = "placeholder_unknown"
    return problems


async def save_canned(
    session: AsyncSession, *, draft: CannedDraft, reply_id: int | None, by: str
) -> CannedReply:
    """Create (``reply_id`` None) or change a canned reply; :class:`BadPayload` if invalid."""
    problems = check_draft(draft)
    if problems:
        raise BadPayload(", ".join(f"{k}: {v}" for k, v in problems.items()))
    if reply_id is None:
        taken = await session.execute(
            select(CannedReply.id).where(col(CannedReply.key) == draft.key)
        )
        if taken.first() is not None:
            raise BadPayload("key: canned_key_taken")
        last = [r.position for r in await canned_replies(session, active_only=False)]
        reply = CannedReply(
            key=draft.key, name_ar="", name_en="", text_ar="", text_en="",
            position=max(last, default=-1) + 1,
        )  # fmt: skip
    else:
        found = await session.get(CannedReply, reply_id)
        if found is None:
            raise NotFound(f"no canned reply {reply_id}")
        reply = found
    reply.name_ar, reply.name_en = draft.name_ar.strip(), draft.name_en.strip()
    reply.text_ar, reply.text_en = draft.text_ar.strip(), draft.text_en.strip()
    reply.active, reply.updated_at, reply.updated_by = draft.active, utcnow(), by
    session.add(reply)
    await session.flush()
    return reply
