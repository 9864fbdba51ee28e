"""Queries over qanat's tables. Each takes a session first and keyword arguments after it."""

from __future__ import annotations

import hashlib
import weakref
from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import bindparam, delete, func, insert, tuple_, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession
from sqlmodel import col, select

from qanat.model import Direction, Identity, Inbound, Location, ProcessingState, Sender
from qanat.store.tables import (
    Attachment,
    ConnectorCursor,
    Contact,
    ContactIdentity,
    Department,
    Event,
    Message,
    ReferenceCounter,
    Ticket,
    utcnow,
)

#: Prefix of ticket references (``QN-2026-000123``).
REFERENCE_PREFIX = "QN"


def insert_or(session: AsyncSession, table: Any) -> Any:
    """An INSERT that supports ON CONFLICT DO NOTHING / DO UPDATE on both backends."""
    dialect = session.get_bind().dialect.name
    return (pg_insert if dialect == "postgresql" else sqlite_insert)(table)


def raw_bytes_of(inbound: Inbound) -> bytes:
    """The bytes to keep for ``inbound``: what the source sent, else the record's JSON."""
    if inbound.raw is not None:
        return inbound.raw
    return inbound.model_dump_json(exclude_none=True).encode()


def message_values(inbound: Inbound) -> dict[str, Any]:
    """Column values of the ``message`` row that stores ``inbound``."""
    given = {
        key: value
        for key, value in (
            ("kind", inbound.kind),
            ("department", inbound.department),
            ("status", inbound.status),
        )
        if value is not None
    }
    location = inbound.location.model_dump(exclude_none=True) if inbound.location else None
    return {
        "channel": inbound.channel,
        "account": inbound.account,
        "external_id": inbound.external_id,
        "direction": "in",
        "received_at": inbound.received_at,
        "sender_handle": inbound.sender.handle,
        "sender_name": inbound.sender.name,
        "sender_email": inbound.sender.email,
        "sender_phone": inbound.sender.phone,
        "subject": inbound.subject,
        "text": inbound.text,
        "html": inbound.html,
        "in_reply_to": list(inbound.in_reply_to),
        "location": location,
        "category": inbound.category,
        "given": {k: str(v) for k, v in given.items()},
        "channel_metadata": inbound.metadata,
        "raw": raw_bytes_of(inbound),
        "state": ProcessingState.received.value,
        "attempts": 0,
        "created_at": utcnow(),
    }


def inbound_of(message: Message) -> Inbound:
    """Rebuild the :class:`Inbound` a stored message was saved from."""
    given = message.given or {}
    return Inbound(
        channel=message.channel,
        account=message.account,
        external_id=message.external_id,
        received_at=message.received_at,
        sender=Sender(
            handle=message.sender_handle,
            name=message.sender_name,
            email=message.sender_email,
            phone=message.sender_phone,
        ),
        subject=message.subject,
        text=message.text,
        html=message.html,
        in_reply_to=message.in_reply_to or [],
        location=Location.model_validate(message.location) if message.location else None,
        category=message.category,
        kind=given.get("kind"),
        department=given.get("department"),
        status=given.get("status"),
        metadata=message.channel_metadata or {},
    )


async def save_message(
    session: AsyncSession,
    *,
    inbound: Inbound,
    state: str = ProcessingState.received,
    reason: str | None = None,
) -> tuple[int, bool]:
    """Store ``inbound`` once; return its message id and whether this call created it.

    Keyed by (channel, account, external_id): a re-poll, a webhook retry or a second
    import finds the existing row and changes nothing.
    """
    values = message_values(inbound) | {"state": state, "state_reason": reason}
    # Core, not ORM: the ORM's bookkeeping showed in every webhook's profile. One
    # statement per database, the values handed in as parameters: built with .values()
    # each time, its cache key walked every value of every message.
    created_id = (await session.execute(_save_statement(session), values)).scalar_one_or_none()
    if created_id is not None:
        await _save_attachments(session, message_id=created_id, inbound=inbound)
        return created_id, True
    existing = await message_id_for(
        session, channel=inbound.channel, account=inbound.account, external_id=inbound.external_id
    )
    if existing is None:  # pragma: no cover - the conflict row vanished mid-transaction
        raise RuntimeError(f"message {inbound.external_id!r} conflicted but cannot be found")
    return existing, False


_SAVE_STATEMENTS: dict[str, Any] = {}


def _save_statement(session: AsyncSession) -> Any:
    """The INSERT … ON CONFLICT DO NOTHING RETURNING id of a message, for this database."""
    dialect = session.get_bind().dialect.name
    statement = _SAVE_STATEMENTS.get(dialect)
    if statement is None:
        table: Any = Message.__table__  # type: ignore[attr-defined]
        statement = (
            insert_or(session, table)
            .on_conflict_do_nothing(index_elements=["channel", "account", "external_id"])
            .returning(table.c.id)
        )
        _SAVE_STATEMENTS[dialect] = statement
    return statement


async def _save_attachments(session: AsyncSession, *, message_id: int, inbound: Inbound) -> None:
    rows = [
        {
            "message_id": message_id,
            "name": item.name,
            "content_type": item.content_type,
            "size": item.size,
            "sha256": item.sha256,
            "stored_at": item.stored_at,
            "note": item.note,
        }
        for item in inbound.attachments
    ]
    if rows:
        await session.execute(insert(Attachment), rows)


async def message_state(session: AsyncSession, *, message_id: int) -> str | None:
    """The processing state of a stored message (None when there is no such message)."""
    statement = select(col(Message.state)).where(col(Message.id) == message_id)
    return (await session.execute(statement)).scalar_one_or_none()


async def message_id_for(
    session: AsyncSession, *, channel: str, account: str, external_id: str
) -> int | None:
    """The id of the stored message with this source key, if any."""
    statement = select(col(Message.id)).where(
        col(Message.channel) == channel,
        col(Message.account) == account,
        col(Message.external_id) == external_id,
    )
    return (await session.execute(statement)).scalar_one_or_none()


async def messages_by_external_ids(
    session: AsyncSession, *, channel: str, account: str, external_ids: Sequence[str]
) -> list[Message]:
    """The stored messages of a channel account with these external ids."""
    statement = select(Message).where(
        col(Message.channel) == channel,
        col(Message.account) == account,
        col(Message.external_id).in_(external_ids),
    )
    return list((await session.execute(statement)).scalars())


async def load_message_for_update(session: AsyncSession, *, message_id: int) -> Message | None:
    """Load a message and lock its row (PostgreSQL) so one worker processes it at a time."""
    statement = select(Message).where(col(Message.id) == message_id)
    if session.get_bind().dialect.name == "postgresql":
        statement = statement.with_for_update()
    return (await session.execute(statement)).scalar_one_or_none()


async def load_messages_for_update(
    session: AsyncSession, *, message_ids: Sequence[int]
) -> dict[int, Message]:
    """Load messages by id and lock their rows (PostgreSQL), in id order (two workers
    locking overlapping sets wait for each other instead of deadlocking): id → message."""
    statement = select(Message).where(col(Message.id).in_(message_ids)).order_by(col(Message.id))
    if session.get_bind().dialect.name == "postgresql":
        statement = statement.with_for_update()
    return {message.id or 0: message for message in (await session.execute(statement)).scalars()}


async def get_cursor(session: AsyncSession, *, channel: str, account: str) -> dict[str, Any] | None:
    """A channel account's stored watermark, or None before its first poll."""
    statement = select(col(ConnectorCursor.value)).where(
        col(ConnectorCursor.channel) == channel,
        col(ConnectorCursor.account) == account,
    )
    value: dict[str, Any] | None = (await session.execute(statement)).scalar_one_or_none()
    return value


async def put_cursor(
    session: AsyncSession, *, channel: str, account: str, value: dict[str, Any]
) -> None:
    """Store a channel account's watermark (insert or replace)."""
    statement = (
        insert_or(session, ConnectorCursor)
        .values(channel=channel, account=account, value=value, updated_at=utcnow())
        .on_conflict_do_update(
            index_elements=["channel", "account"],
            set_={"value": value, "updated_at": utcnow()},
        )
    )
    await session.execute(statement)


def format_reference(year: int, number: int) -> str:
    """``QN-2026-000123``: what citizens quote and staff search for."""
    return f"{REFERENCE_PREFIX}-{year}-{number:06d}"


async def next_reference(session: AsyncSession, *, year: int, block: int = 1) -> str:
    """Hand out the next ticket reference of ``year``, atomically (one statement: the
    year's first ticket makes its counter, every later one adds one to it).

    With ``block`` above 1 (PostgreSQL), the process takes that many numbers at once in
    a transaction of their own and hands them out one by one: one statement per block
    instead of per ticket. Numbers then rise per process, not across processes, and a
    process that stops leaves the rest of its block unused."""
    engine = session.bind
    if block <= 1 or not isinstance(engine, AsyncEngine) or engine.dialect.name != "postgresql":
        number = (await session.execute(_take_numbers(session, year, 1))).scalar_one()
        return format_reference(year, number)
    kept = _reference_blocks.setdefault(engine, {}).setdefault(year, [])
    if not kept:
        async with engine.connect() as connection:  # committed whatever the ticket does
            last = (await connection.execute(_take_numbers(session, year, block))).scalar_one()
            await connection.commit()
        kept.extend(range(last, last - block, -1))  # popped from the end: smallest first
    return format_reference(year, kept.pop())


#: Reference numbers a process has taken and not handed out yet, per engine and year.
_reference_blocks: weakref.WeakKeyDictionary[Any, dict[int, list[int]]] = (
    weakref.WeakKeyDictionary()
)


def _take_numbers(session: AsyncSession, year: int, count: int) -> Any:
    return (
        insert_or(session, ReferenceCounter)
        .values(year=year, last=count)
        .on_conflict_do_update(
            index_elements=["year"], set_={"last": col(ReferenceCounter.last) + count}
        )
        .returning(col(ReferenceCounter.last))
    )


async def add_event(
    session: AsyncSession,
    *,
    actor: str,
    type: str,
    ticket_id: int | None = None,
    message_id: int | None = None,
    data: dict[str, Any] | None = None,
) -> Event:
    """Append an event: who or what did what to a ticket or message, and why.

    Written with the transaction's next flush (any later query, or the commit), so a
    message's events go to the store together; flush first to read the event's id.
    """
    event = Event(
        ticket_id=ticket_id, message_id=message_id, actor=actor, type=type, data=data or {}
    )
    session.add(event)
    return event


async def contact_for_identities(
    session: AsyncSession, *, identities: Sequence[Identity], display_name: str | None
) -> int | None:
    """The contact owning any of ``identities`` (created if none), with all of them attached.

    An identity already owned by another contact is left where it is: joining two
    contacts is a merge, which staff decide. Safe against a concurrent worker creating
    the same contact: the identity's unique key decides, and the loser adopts the winner.
    """
    contact_id, _new = await identify_contact(
        session, identities=identities, display_name=display_name
    )
    return contact_id


#: Identity (kind, value) → the contact that owns it, or None when none does: read for a
#: whole batch of messages at once, and kept current as its messages create contacts.
IdentityOwners = dict[tuple[str, str], int | None]


async def identity_owners(
    session: AsyncSession, *, identities: Iterable[Identity]
) -> IdentityOwners:
    """Who owns each of ``identities`` (None: no contact yet), a few hundred a statement."""
    keys = sorted({(identity.kind, identity.value) for identity in identities})
    found: IdentityOwners = dict.fromkeys(keys)
    pair = tuple_(col(ContactIdentity.kind), col(ContactIdentity.value))
    for start in range(0, len(keys), 500):
        statement = select(
            col(ContactIdentity.kind), col(ContactIdentity.value), col(ContactIdentity.contact_id)
        ).where(pair.in_(keys[start : start + 500]))
        for kind, value, owner in await session.execute(statement):
            found[(kind, value)] = owner
    return found


async def identify_contact(
    session: AsyncSession,
    *,
    identities: Sequence[Identity],
    display_name: str | None,
    known: IdentityOwners | None = None,
) -> tuple[int | None, bool]:
    """:func:`contact_for_identities`, and whether this call created the contact (a
    citizen seen for the first time has no tickets to look up).

    ``known`` (from :func:`identity_owners`, for a batch) saves the look-ups of the
    identities it holds, and learns the identities this call attaches. An identity it
    takes for nobody's that another worker has just attached meets the same unique key
    as without it, so the outcome is the same."""
    if not identities:
        return None, False
    owners = await _identity_owners(session, identities=identities, known=known)
    contact_id = min(owners.values()) if owners else None
    if len(set(owners.values())) > 1:
        # One message proves two contacts are one citizen (a Telegram user shared the
        # phone of a caller): staff decide, so it is suggested, not merged.
        await add_event(
            session,
            actor="pipeline",
            type="contact_merge_suggested",
            data={
                "contacts": sorted(set(owners.values())),
                "identities": sorted(f"{k}:{v}" for k, v in owners),
            },
        )
    if contact_id is None:
        contact = Contact(display_name=display_name)
        session.add(contact)
        await session.flush()
        assert contact.id is not None
        contact_id = contact.id
    # One order for every worker: two workers inserting the same identities in different
    # orders would wait on each other (a deadlock on PostgreSQL).
    for identity in sorted(identities, key=lambda i: (i.kind, i.value)):
        if (identity.kind, identity.value) in owners:
            continue
        given = {
            "contact_id": contact_id,
            "kind": identity.kind,
            "value": identity.value,
            "created_at": utcnow(),
        }
        attaching = await session.execute(_attaching(session), given)
        key = (identity.kind, identity.value)
        attached = attaching.scalar_one_or_none() is not None
        if known is not None and attached:
            known[key] = contact_id
        elif known is not None:
            known.pop(key, None)  # someone else's: read from the store next time
        if not attached and not owners:
            # Another worker created this citizen a moment ago: use theirs, drop ours.
            winner = await _identity_owners(session, identities=[identity])
            owner = winner[key]
            if known is not None:
                known.update({(i.kind, i.value): owner for i in identities})
            return await _adopt(session, orphan=contact_id, owner=owner), False
    return contact_id, not owners


_ATTACHING: dict[str, Any] = {}
_IDENTITY_VALUES = ("contact_id", "kind", "value", "created_at")


def _attaching(session: AsyncSession) -> Any:
    """An identity given to a contact unless someone has it (built once per dialect)."""
    dialect = session.get_bind().dialect.name
    statement = _ATTACHING.get(dialect)
    if statement is None:
        statement = (
            insert_or(session, ContactIdentity)
            .values(
                {name: bindparam(name) for name in ("contact_id", "kind", "value", "created_at")}
            )
            .on_conflict_do_nothing(index_elements=["kind", "value"])
            .returning(col(ContactIdentity.id))
        )
        _ATTACHING[dialect] = statement
    return statement


async def _adopt(session: AsyncSession, *, orphan: int, owner: int) -> int:
    await session.execute(
        update(ContactIdentity)
        .where(col(ContactIdentity.contact_id) == orphan)
        .values(contact_id=owner)
    )
    await session.execute(delete(Contact).where(col(Contact.id) == orphan))
    return owner


async def _identity_owners(
    session: AsyncSession, *, identities: Iterable[Identity], known: IdentityOwners | None = None
) -> dict[tuple[str, str], int]:
    """Who owns each of ``identities`` that someone owns: from ``known`` where it holds
    them, the rest in one statement (:func:`identity_owners`)."""
    identities, known = list(identities), known or {}
    missing = [i for i in identities if (i.kind, i.value) not in known]
    found = await identity_owners(session, identities=missing) if missing else {}
    keys = {(i.kind, i.value) for i in identities}
    everyone = {key: known.get(key) for key in keys if key in known} | found
    return {key: owner for key, owner in everyone.items() if owner is not None}


async def ticket_of_messages(
    session: AsyncSession, *, channel: str, external_ids: Sequence[str]
) -> Ticket | None:
    """The ticket holding one of the messages named (a reply names what it answers)."""
    if not external_ids:
        return None
    statement = (
        select(Ticket)
        .join(Message, col(Message.ticket_id) == col(Ticket.id))
        .where(
            col(Message.channel) == channel,
            col(Message.external_id).in_(external_ids),
        )
        .order_by(col(Message.id).desc())
        .limit(1)
    )
    return (await session.execute(statement)).scalar_one_or_none()


async def ticket_by_reference(session: AsyncSession, *, reference: str) -> Ticket | None:
    """The ticket with this reference number, if any."""
    statement = select(Ticket).where(col(Ticket.reference) == reference)
    return (await session.execute(statement)).scalar_one_or_none()


async def departments(session: AsyncSession) -> list[Department]:
    """Every department, as rows of the session (held, they answer ``session.get``
    without a query for as long as the session lasts)."""
    return list((await session.execute(select(Department))).scalars())


async def department_ids(session: AsyncSession) -> dict[str, int]:
    """Department code → id."""
    rows = await session.execute(select(Department.code, Department.id))
    return {code: id_ for code, id_ in rows}


async def sync_departments(
    session: AsyncSession, *, departments: Iterable[tuple[str, str, str, str | None]]
) -> dict[str, int]:
    """Create the departments named in the rules (code, name_en, name_ar, email) if missing.

    ``qanat serve`` and every worker do this as they start, often at the same moment on
    a new database: a department another process has just made is left alone.
    """
    rows = [
        {"code": code, "name_en": name_en, "name_ar": name_ar, "email": email, "active": True}
        for code, name_en, name_ar, email in departments
    ]
    if rows:
        statement = insert_or(session, Department).on_conflict_do_nothing(index_elements=["code"])
        await session.execute(statement, rows)
    return await department_ids(session)


async def count_rows(session: AsyncSession, table: Any, *where: Any) -> int:
    """How many rows of ``table`` match ``where``."""
    statement = select(func.count()).select_from(table)
    for condition in where:
        statement = statement.where(condition)
    return int((await session.execute(statement)).scalar_one())


def advisory_key(scope: str) -> int:
    """A signed 64-bit key for PostgreSQL advisory locks, derived from ``scope``."""
    digest = hashlib.blake2b(scope.encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


async def citizen_message(session: AsyncSession, *, ticket_id: int) -> Message | None:
    """The citizen's latest message on a ticket: the channel and address a reply goes to."""
    statement = (
        select(Message)
        .where(col(Message.ticket_id) == ticket_id, col(Message.direction) == Direction.inbound)
        .order_by(col(Message.received_at).desc(), col(Message.id).desc())
        .limit(1)
    )
    return (await session.execute(statement)).scalar_one_or_none()


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


def reply_subject(subject: str | None) -> str | None:
    """The subject of an answer to a message with ``subject`` ("Re: …", once)."""
    if not subject:
        return None
    return subject if subject.lower().startswith("re:") else "Re: " + subject
