"""Open311 in the store: clients' API keys (kept as hashes) and service requests as listed.

A service request is a ticket; its ``service_request_id`` is the ticket's reference
and its ``service_code`` the ticket's category. Only what the listing needs is read:
never the citizen's name, phone or email.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from qanat.model import OPEN_STATUSES, Direction
from qanat.store.open311_updates import latest_partner_notes
from qanat.store.staff import new_secret_token, token_digest
from qanat.store.tables import Department, Message, Open311Key, Ticket

#: Prefix of Open311 keys, so a leaked one is recognisable.
KEY_PREFIX = "o311_"
#: How stale a key's "last used" may get before a request writes it again.
TOUCH_INTERVAL = timedelta(minutes=1)
#: The most requests one listing returns (the spec's limit).
MAX_REQUESTS = 1000
_OPEN = [s.value for s in OPEN_STATUSES]
_CLOSED = ["resolved", "closed"]


async def create_key(
    session: AsyncSession, *, name: str, created_by_id: int | None, updates: bool = False
) -> tuple[Open311Key, str]:
    """Issue a key for the client ``name``; the secret is returned once, only its hash kept.

    ``updates``: a partner system (a ministry working the requests) that may post status
    updates to qanat's service requests.
    """
    taken = await session.execute(select(Open311Key.id).where(col(Open311Key.name) == name))
    if taken.scalar_one_or_none() is not None:
        raise ValueError(f"an Open311 client named {name!r} already exists")
    secret = new_secret_token(KEY_PREFIX)
    key = Open311Key(
        name=name,
        key_hash=token_digest(secret),
        prefix=secret[: len(KEY_PREFIX) + 6],
        created_by_id=created_by_id,
        updates=updates,
    )
    session.add(key)
    await session.flush()
    return key, secret


async def client_of(session: AsyncSession, *, secret: str, now: datetime) -> Open311Key | None:
    """The live key with this secret (its "last used" written at most once a minute)."""
    statement = select(Open311Key).where(
        col(Open311Key.key_hash) == token_digest(secret), col(Open311Key.revoked_at).is_(None)
    )
    key = (await session.execute(statement)).scalar_one_or_none()
    if key is not None and (key.last_used_at is None or now - key.last_used_at > TOUCH_INTERVAL):
        key.last_used_at = now
    return key


async def revoke_key(session: AsyncSession, *, name: str, now: datetime) -> bool:
    """Revoke the client's key at once; False when there is no live key of that name."""
    result = await session.execute(
        update(Open311Key)
        .where(col(Open311Key.name) == name, col(Open311Key.revoked_at).is_(None))
        .values(revoked_at=now)
    )
    return bool(getattr(result, "rowcount", 0))


async def keys(session: AsyncSession) -> list[dict[str, Any]]:
    """Every client's key (never its secret), newest first."""
    rows = (await session.execute(select(Open311Key).order_by(col(Open311Key.id).desc()))).scalars()
    return [
        {
            "id": key.id,
            "name": key.name,
            "prefix": key.prefix,
            "created_at": key.created_at.isoformat(),
            "last_used_at": key.last_used_at.isoformat() if key.last_used_at else None,
            "revoked_at": key.revoked_at.isoformat() if key.revoked_at else None,
            "updates": key.updates,
        }
        for key in rows
    ]


@dataclass(frozen=True)
class RequestQuery:
    """What ``GET requests`` asks for: ids (which override the rest), or codes, dates, status."""

    references: list[str] = field(default_factory=list)
    service_codes: list[str] = field(default_factory=list)
    start: datetime | None = None
    end: datetime | None = None
    statuses: list[str] = field(default_factory=list)
    limit: int = MAX_REQUESTS
    #: Changed at or after / before (Chicago's ``updated_after`` / ``updated_before``);
    #: with either, the oldest change comes first, so pages stay put while requests change.
    updated_after: datetime | None = None
    updated_before: datetime | None = None
    #: Requests skipped before the first one listed (``(page - 1) * page_size``).
    offset: int = 0


@dataclass(frozen=True)
class RequestRow:
    """A ticket as Open311 lists it, with what the listing may show of its first message."""

    ticket: Ticket
    department_en: str | None
    primary_reference: str | None
    first_channel: str | None
    first_text: str | None
    first_metadata: dict[str, Any]
    #: The latest note a partner posted with a status update, if any.
    status_notes: str | None = None


def _conditions(query: RequestQuery) -> list[Any]:
    if query.references:
        return [col(Ticket.reference).in_(query.references)]
    conditions: list[Any] = []
    if query.service_codes:
        conditions.append(col(Ticket.category).in_(query.service_codes))
    if query.start is not None:
        conditions.append(col(Ticket.created_at) >= query.start)
    if query.end is not None:
        conditions.append(col(Ticket.created_at) <= query.end)
    wanted = [s for status in query.statuses for s in (_OPEN if status == "open" else _CLOSED)]
    if wanted:
        conditions.append(col(Ticket.status).in_(wanted))
    if query.updated_after is not None:
        conditions.append(col(Ticket.updated_at) >= query.updated_after)
    if query.updated_before is not None:
        conditions.append(col(Ticket.updated_at) <= query.updated_before)
    return conditions


def _order(query: RequestQuery) -> list[Any]:
    if query.updated_after is not None or query.updated_before is not None:
        return [col(Ticket.updated_at), col(Ticket.id)]
    return [col(Ticket.created_at).desc(), col(Ticket.id).desc()]


async def service_requests(session: AsyncSession, query: RequestQuery) -> list[RequestRow]:
    """The tickets the query names, newest first, at most ``query.limit``."""
    statement = (
        select(Ticket, Department.name_en)
        .outerjoin(Department, col(Department.id) == col(Ticket.department_id))
        .where(*_conditions(query))
        .order_by(*_order(query))
        .offset(query.offset)
        .limit(min(query.limit, MAX_REQUESTS))
    )
    rows = (await session.execute(statement)).all()
    tickets = [ticket for ticket, _ in rows]
    primaries = await _references(session, {t.primary_ticket_id for t in tickets} - {None})
    firsts = await _first_messages(session, [t.id for t in tickets if t.id is not None])
    notes = await latest_partner_notes(session, [t.id for t in tickets if t.id is not None])
    return [
        RequestRow(
            ticket=ticket,
            department_en=department,
            primary_reference=primaries.get(ticket.primary_ticket_id or 0),
            first_channel=firsts.get(ticket.id or 0, (None, None, {}))[0],
            first_text=firsts.get(ticket.id or 0, (None, None, {}))[1],
            first_metadata=firsts.get(ticket.id or 0, (None, None, {}))[2],
            status_notes=notes.get(ticket.id or 0),
        )
        for ticket, department in rows
    ]


async def _references(session: AsyncSession, ids: set[int | None]) -> dict[int, str]:
    wanted = [i for i in ids if i is not None]
    if not wanted:
        return {}
    rows = await session.execute(
        select(Ticket.id, Ticket.reference).where(col(Ticket.id).in_(wanted))
    )
    return {id_: reference for id_, reference in rows if id_ is not None}


async def _first_messages(
    session: AsyncSession, ticket_ids: list[int]
) -> dict[int, tuple[str, str, dict[str, Any]]]:
    if not ticket_ids:
        return {}
    first = (
        select(func.min(col(Message.id)))
        .where(col(Message.ticket_id).in_(ticket_ids), col(Message.direction) == Direction.inbound)
        .group_by(col(Message.ticket_id))
    )
    rows = await session.execute(
        select(Message.ticket_id, Message.channel, Message.text, Message.channel_metadata).where(
            col(Message.id).in_(first)
        )
    )
    return {
        ticket_id: (channel, text, metadata or {})
        for ticket_id, channel, text, metadata in rows
        if ticket_id is not None
    }


async def reference_of_token(session: AsyncSession, *, token: str) -> tuple[bool, str | None]:
    """Whether an Open311 token (the request's external id) is known, and its reference."""
    statement = (
        select(Message.id, Ticket.reference)
        .outerjoin(Ticket, col(Ticket.id) == col(Message.ticket_id))
        .where(col(Message.channel) == "open311", col(Message.external_id) == token)
        .limit(1)
    )
    row = (await session.execute(statement)).one_or_none()
    return (row is not None, row[1] if row is not None else None)
