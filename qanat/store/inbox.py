"""The inbox's lists: queues, filters and search over the tickets a viewer may see."""

from __future__ import annotations

import re
import weakref
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, and_, case, event, func, literal, or_, true
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import ORMExecuteState, Session, aliased, defer
from sqlmodel import col, select

from qanat.model import OPEN_STATUSES, Direction, TicketStatus
from qanat.store.access import Viewer, submissions_of, visible_tickets
from qanat.store.tables import Contact, ContactIdentity, Department, Message, Ticket, User, utcnow

#: Every queue, in the order the inbox lists them.
QUEUES = (
    "open",
    "mine",
    "department",
    "unassigned",
    "overdue",
    "duplicates",
    "recurring",
    "triage",
    "submitted",
    "all",
)
#: How close to its due time an open ticket counts as "about to breach".
ABOUT_TO_BREACH = timedelta(hours=4)
#: A place is recurring when it had this many tickets within :data:`RECURRING_WINDOW`.
RECURRING_TICKETS = 3
RECURRING_WINDOW = timedelta(days=90)
#: At most this many search words are used (each is a LIKE over the text).
SEARCH_WORDS = 8
#: Columns the list can be sorted by.
SORTS = ("due", "priority", "created", "updated")
_PRIORITY_RANK = {"urgent": 0, "high": 1, "normal": 2, "low": 3}

_OPEN = [s.value for s in OPEN_STATUSES]
_RUNNING = [s.value for s in OPEN_STATUSES if s != TicketStatus.pending]


@dataclass(frozen=True)
class InboxFilters:
    """What the inbox is asked to show: a queue, filters, a search, and a page."""

    queue: str = "open"
    channel: str | None = None
    kind: str | None = None
    status: str | None = None
    priority: str | None = None
    block: str | None = None
    representative: str | None = None
    department: str | None = None
    #: A member of staff holding the tickets (username), and only tickets past due.
    assignee: str | None = None
    breached: bool = False
    date_from: date | None = None
    date_to: date | None = None
    q: str | None = None
    #: The search as the store compares it: ``q``'s words in match form (the caller
    #: normalizes them, so Arabic spelling variants match; a phone number in E.164).
    words: tuple[str, ...] = ()
    limit: int = 50
    offset: int = 0
    #: A column to sort by (:data:`SORTS`; empty: the queue's own order) and its direction.
    sort: str = ""
    descending: bool = False


@dataclass
class InboxRow:
    """One line of the inbox: the ticket and what is shown beside it."""

    ticket: Ticket
    excerpt: str = ""
    contact_name: str | None = None
    department_code: str | None = None
    assignee_name: str | None = None
    duplicates: int = 0
    extra: dict[str, Any] = field(default_factory=dict)


def default_queue(viewer: Viewer) -> str:
    """The queue a viewer sees first."""
    return {"representative": "submitted", "admin": "open"}.get(viewer.role, "department")


def queues_for(viewer: Viewer) -> list[str]:
    """The queues that make sense for ``viewer``'s role."""
    if viewer.role == "representative":
        return ["submitted"]
    hidden = {"submitted"} | ({"department"} if viewer.role == "admin" else set())
    return [q for q in QUEUES if q not in hidden]


def _in_recurring_block(now: datetime) -> ColumnElement[bool]:
    # The block's RECURRING_TICKETS-th ticket of the window exists: at most that many
    # index entries (block, created_at) read per ticket, not the window aggregated.
    other = aliased(Ticket)
    return (
        select(col(other.id))
        .where(
            col(other.block) == col(Ticket.block),
            col(other.created_at) >= now - RECURRING_WINDOW,
        )
        .limit(1)
        .offset(RECURRING_TICKETS - 1)
        .exists()
    )


def queue_condition(queue: str, *, viewer: Viewer, now: datetime) -> ColumnElement[bool]:
    """The condition of ``queue`` (within what the viewer sees; that is applied separately)."""
    is_open = col(Ticket.status).in_(_OPEN)
    conditions: dict[str, ColumnElement[bool]] = {
        "open": is_open,
        "mine": and_(is_open, col(Ticket.assignee_id) == viewer.user_id),
        "department": and_(is_open, col(Ticket.department_id) == viewer.department_id),
        "unassigned": and_(is_open, col(Ticket.assignee_id).is_(None)),
        # Past a warning or due time, or close to one; a ticket pending on the citizen
        # is not: its clock is stopped.
        "overdue": and_(
            col(Ticket.status).in_(_RUNNING),
            or_(
                col(Ticket.sla_due_at) <= now + ABOUT_TO_BREACH,
                col(Ticket.sla_warn_at) <= now,
                and_(
                    col(Ticket.first_response_at).is_(None),
                    col(Ticket.first_response_warn_at) <= now,
                ),
            ),
        ),
        "duplicates": col(Ticket.id).in_(
            select(col(Ticket.primary_ticket_id)).where(col(Ticket.primary_ticket_id).is_not(None))
        ),
        "recurring": and_(is_open, col(Ticket.block).is_not(None), _in_recurring_block(now)),
        "triage": and_(is_open, col(Ticket.needs_triage).is_(True)),
        "submitted": submissions_of(viewer.username),
        "all": true(),
    }
    if queue not in conditions:
        raise ValueError(f"unknown queue {queue!r}; choose one of {', '.join(QUEUES)}")
    return conditions[queue]


def _like(word: str) -> str:
    escaped = word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


_REFERENCE_SEARCHED = re.compile(r"qn\s*(\d{4})\s*(\d{1,6})")
_PHONE = re.compile(r"\+\d{8,15}")


def reference_searched(words: Sequence[str]) -> str | None:
    """The ticket reference the search is, when it is one alone (``qn 2026 5`` →
    ``QN-2026-000005``), found by its unique index instead of by words."""
    found = _REFERENCE_SEARCHED.fullmatch(" ".join(words))
    return f"QN-{found[1]}-{int(found[2]):06d}" if found else None


def phone_searched(word: str) -> list[str]:
    """The ways a phone number may be stored as an identity, when ``word`` is one in E.164
    (``+97339001122``: the caller read it so); otherwise empty. Phones never stay in
    the match form of a text, so such a word finds a citizen by their identities only."""
    if not _PHONE.fullmatch(word):
        return []
    return [word, word[1:]]


def search_condition(words: Sequence[str]) -> ColumnElement[bool] | None:
    """Every word (in match form) must occur in what the ticket is searched by (its
    text, its messages, its reference, its citizen's identities: ``Ticket.search_text``,
    trigram-indexed on PostgreSQL); at most :data:`SEARCH_WORDS` are used. A reference
    alone, or a phone number, is an exact lookup by index."""
    if not words:
        return None
    if (reference := reference_searched(words)) is not None:
        return col(Ticket.reference) == reference
    conditions = []
    for word in words[:SEARCH_WORDS]:
        if phones := phone_searched(word):
            holders = select(col(ContactIdentity.contact_id)).where(
                col(ContactIdentity.value).in_(phones)
            )
            conditions.append(col(Ticket.contact_id).in_(holders))
        else:
            conditions.append(col(Ticket.search_text).like(_like(word), escape="\\"))
    return and_(*conditions)


def _day_start(day: date, tz: ZoneInfo) -> datetime:
    return datetime.combine(day, time.min, tzinfo=tz)


def filter_conditions(
    filters: InboxFilters, *, tz: ZoneInfo, now: datetime | None = None
) -> list[ColumnElement[bool]]:
    """The conditions of the filter bar (channel, kind, status, …, dates in local days)."""
    conditions: list[ColumnElement[bool]] = []
    for column, value in (
        (Ticket.channel, filters.channel),
        (Ticket.kind, filters.kind),
        (Ticket.status, filters.status),
        (Ticket.priority, filters.priority),
        (Ticket.block, filters.block),
    ):
        if value:
            conditions.append(col(column) == value)
    if filters.representative:
        conditions.append(submissions_of(filters.representative))
    if filters.assignee:
        holder = select(col(User.id)).where(col(User.username) == filters.assignee)
        conditions.append(col(Ticket.assignee_id).in_(holder))
    if filters.breached:
        ended = func.coalesce(col(Ticket.resolved_at), now or utcnow())
        conditions.append(col(Ticket.sla_due_at) < ended)
    if filters.department:
        department = select(col(Department.id)).where(col(Department.code) == filters.department)
        conditions.append(col(Ticket.department_id).in_(department))
    if filters.date_from:
        conditions.append(col(Ticket.created_at) >= _day_start(filters.date_from, tz))
    if filters.date_to:
        end = _day_start(filters.date_to + timedelta(days=1), tz)
        conditions.append(col(Ticket.created_at) < end)
    if (found := search_condition(filters.words)) is not None:
        conditions.append(found)
    return conditions


def inbox_conditions(
    filters: InboxFilters, *, viewer: Viewer, now: datetime, tz: ZoneInfo
) -> list[ColumnElement[bool]]:
    """Everything that decides which tickets a page of the inbox holds."""
    return [
        visible_tickets(viewer),
        queue_condition(filters.queue, viewer=viewer, now=now),
        *filter_conditions(filters, tz=tz, now=now),
    ]


async def inbox_rows(
    session: AsyncSession, *, filters: InboxFilters, viewer: Viewer, now: datetime, tz: ZoneInfo
) -> list[InboxRow]:
    """One page of the inbox, newest first (the overdue queue: soonest due first), or in
    the order of a column staff chose."""
    statement = (
        select(Ticket)
        # What search looks in is up to several kB a ticket, and a page never shows it.
        .options(defer(Ticket.search_text))  # type: ignore[arg-type]
        .where(*inbox_conditions(filters, viewer=viewer, now=now, tz=tz))
        .order_by(*ordering(filters))
        .limit(filters.limit)
        .offset(filters.offset)
    )
    tickets = list((await session.execute(statement)).scalars())
    return await describe(session, tickets)


def ordering(filters: InboxFilters) -> list[Any]:
    """The ORDER BY of a page: the chosen column (tickets without a value last), then id."""
    if filters.sort not in SORTS:
        if filters.queue == "overdue":
            return [col(Ticket.sla_due_at).asc(), col(Ticket.id)]
        return [col(Ticket.id).desc()]
    column: Any = {
        "due": col(Ticket.sla_due_at),
        "created": col(Ticket.created_at),
        "updated": col(Ticket.updated_at),
        "priority": case(_PRIORITY_RANK, value=col(Ticket.priority), else_=9),
    }[filters.sort]
    if filters.sort == "priority":  # "descending" means the most urgent first
        first = column.asc() if filters.descending else column.desc()
    else:
        first = column.desc() if filters.descending else column.asc()
    tie = col(Ticket.id).desc() if filters.descending else col(Ticket.id).asc()
    return [first.nulls_last(), tie]


async def describe(session: AsyncSession, tickets: list[Ticket]) -> list[InboxRow]:
    """Inbox rows for ``tickets``: first message excerpt, names, duplicate counts."""
    ids = [t.id for t in tickets if t.id is not None]
    if not ids:
        return []
    excerpts = await _first_texts(session, ids)
    contacts = await _names(session, Contact, [t.contact_id for t in tickets])
    assignees = await _names(session, User, [t.assignee_id for t in tickets])
    departments: dict[int, str] = dict(
        (await session.execute(select(Department.id, Department.code))).all()
    )
    counts: dict[int, int] = dict(
        (
            await session.execute(
                select(Ticket.primary_ticket_id, func.count())
                .where(col(Ticket.primary_ticket_id).in_(ids))
                .group_by(col(Ticket.primary_ticket_id))
            )
        ).all()
    )
    return [
        InboxRow(
            ticket=t,
            excerpt=excerpts.get(t.id or 0, ""),
            contact_name=contacts.get(t.contact_id or 0),
            department_code=departments.get(t.department_id or 0),
            assignee_name=assignees.get(t.assignee_id or 0),
            duplicates=counts.get(t.id or 0, 0),
        )
        for t in tickets
    ]


async def _first_texts(session: AsyncSession, ticket_ids: list[int]) -> dict[int, str]:
    first = (
        select(func.min(col(Message.id)))
        .where(col(Message.ticket_id).in_(ticket_ids), col(Message.direction) == Direction.inbound)
        .group_by(col(Message.ticket_id))
    )
    rows = await session.execute(
        select(Message.ticket_id, Message.subject, Message.text).where(col(Message.id).in_(first))
    )
    return {
        ticket_id: (text or subject or "")[:240] for ticket_id, subject, text in rows if ticket_id
    }


async def _names(session: AsyncSession, table: Any, ids: list[int | None]) -> dict[int, str]:
    wanted = {i for i in ids if i is not None}
    if not wanted:
        return {}
    rows = await session.execute(
        select(table.id, table.display_name).where(col(table.id).in_(wanted))
    )
    return {id_: name for id_, name in rows if name}


#: A queue holding more tickets than this shows "1000+": counting stops there, so a
#: count costs at most this many index entries however large the store.
QUEUE_COUNT_CAP = 1000
#: Counts are reused for this long within a process, unless tickets changed in it.
QUEUE_COUNTS_FOR = timedelta(seconds=5)
_counted: weakref.WeakKeyDictionary[Any, dict[tuple[Any, ...], dict[str, int]]] = (
    weakref.WeakKeyDictionary()
)
#: Bumped whenever this process changes tickets: counts read before are stale.
_ticket_writes = [0]


@event.listens_for(Session, "after_flush")
def _after_flush(session: Session, _context: Any) -> None:
    changed = (*session.new, *session.dirty, *session.deleted)
    if any(isinstance(row, Ticket) for row in changed):
        _ticket_writes[0] += 1


@event.listens_for(Session, "do_orm_execute")
def _bulk_write(state: ORMExecuteState) -> None:
    table = getattr(state.statement, "table", None)
    if not state.is_select and getattr(table, "name", None) == Ticket.__tablename__:
        _ticket_writes[0] += 1


async def queue_counts(
    session: AsyncSession,
    *,
    viewer: Viewer,
    queues: list[str],
    now: datetime,
    cap: int = QUEUE_COUNT_CAP,
) -> dict[str, int]:
    """How many tickets each queue holds for ``viewer`` (``cap + 1``: more than ``cap``),
    in one query of capped index scans; the same counts are reused for
    :data:`QUEUE_COUNTS_FOR` unless tickets changed in this process."""
    if not queues:
        return {}
    bucket = int(now.timestamp() // QUEUE_COUNTS_FOR.total_seconds())
    key = (viewer, tuple(queues), cap, bucket, _ticket_writes[0])
    kept = _counted.setdefault(session.bind, {})
    if key in kept:
        return dict(kept[key])
    statement = select(*[_capped_count(q, viewer=viewer, now=now, cap=cap) for q in queues])
    row = (await session.execute(statement)).one()
    counts = {queue: int(count) for queue, count in zip(queues, row, strict=True)}
    if len(kept) > 1000:  # old time buckets and viewers gone
        kept.clear()
    kept[key] = counts
    return dict(counts)


def _capped_count(queue: str, *, viewer: Viewer, now: datetime, cap: int) -> Any:
    first = (
        select(literal(1))
        .select_from(Ticket)
        .where(visible_tickets(viewer), queue_condition(queue, viewer=viewer, now=now))
        .limit(cap + 1)
        .subquery()
    )
    return select(func.count()).select_from(first).scalar_subquery()
