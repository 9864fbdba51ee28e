"""Warnings before an SLA deadline and escalation when it passes.

Every few minutes (the arq cron, or a loop inside ``qanat serve`` when jobs run inline;
the nightly reconciliation runs it too) :func:`check_sla` looks at open tickets whose
warning or due time has come. Each deadline is announced once: an ``sla_warning`` or
``sla_escalated`` event on the ticket (shown in the inbox and its live stream) and a
mail — a warning to the assignee (or the department's address when nobody has it), an
escalation to the department's address and its supervisors. A ticket pending on the
citizen is skipped: its clock is stopped. When a pause moves a deadline, the new one is
announced again.
"""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, and_, bindparam, insert, or_, text, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from qanat.jobs.deps import JobDeps
from qanat.model import TicketStatus
from qanat.outbound.staff_mail import notify_staff
from qanat.store import queries
from qanat.store.tables import Department, Event, Ticket, User, utcnow

log = logging.getLogger(__name__)

#: How often the check runs (the worker's cron and the inline loop).
CHECK_EVERY = timedelta(minutes=5)
WARNING, ESCALATED = "sla_warning", "sla_escalated"
#: Statuses whose clock runs (pending waits on the citizen; resolved is done).
_RUNNING = (TicketStatus.new.value, TicketStatus.open.value)
#: Tickets whose events are read per query when checking what was already announced.
_BATCH = 500


@dataclass(frozen=True)
class SlaAlert:
    """One deadline announced: a warning before it or an escalation after it."""

    ticket_id: int
    reference: str
    department: str | None
    type: str  # sla_warning or sla_escalated
    clock: str  # first_response or resolution
    due_at: datetime
    to: tuple[str, ...]


@dataclass(frozen=True)
class Clocks:
    """What the check reads of a ticket (a row, not an ORM object): its deadlines and
    the due times already announced for each of them."""

    id: int
    reference: str
    department_id: int | None
    assignee_id: int | None
    first_response_at: datetime | None
    first_response_due_at: datetime | None
    first_response_warn_at: datetime | None
    sla_due_at: datetime | None
    sla_warn_at: datetime | None
    first_response_warned_for: datetime | None = None
    first_response_escalated_for: datetime | None = None
    sla_warned_for: datetime | None = None
    sla_escalated_for: datetime | None = None


#: The columns of :class:`Clocks`, in order.
_CLOCK_COLUMNS = [getattr(Ticket, name) for name in Clocks.__dataclass_fields__]
#: The column recording the due time announced, per (event type, clock).
_ANNOUNCED_IN = {
    (WARNING, "first_response"): "first_response_warned_for",
    (ESCALATED, "first_response"): "first_response_escalated_for",
    (WARNING, "resolution"): "sla_warned_for",
    (ESCALATED, "resolution"): "sla_escalated_for",
}


def _deadlines(ticket: Ticket | Clocks) -> list[tuple[str, datetime | None, datetime | None]]:
    clocks = [("resolution", ticket.sla_due_at, ticket.sla_warn_at)]
    if ticket.first_response_at is None:
        clocks.insert(
            0, ("first_response", ticket.first_response_due_at, ticket.first_response_warn_at)
        )
    return clocks


def due_alerts(ticket: Ticket | Clocks, now: datetime) -> list[tuple[str, str, datetime]]:
    """(event type, clock, due time) of every deadline of ``ticket`` to announce now."""
    found = []
    for clock, due, warn in _deadlines(ticket):
        if due is not None and due <= now:
            found.append((ESCALATED, clock, due))
        elif due is not None and warn is not None and warn <= now:
            found.append((WARNING, clock, due))
    return found


def _not_announced(kind: str, clock: str, due: Any) -> ColumnElement[bool]:
    return col(getattr(Ticket, _ANNOUNCED_IN[(kind, clock)])).is_distinct_from(due)


def candidates(now: datetime, *, after: int = 0, limit: int | None = None) -> Any:
    """The next ``limit`` running tickets (by id, past ``after``) with a deadline come and
    not announced for its current due time: the work of one page, selected by index."""
    unanswered = col(Ticket.first_response_at).is_(None)
    first_due, first_warn = col(Ticket.first_response_due_at), col(Ticket.first_response_warn_at)
    due, warn = col(Ticket.sla_due_at), col(Ticket.sla_warn_at)
    return (
        select(*_CLOCK_COLUMNS)
        .where(
            col(Ticket.status).in_(_RUNNING),
            col(Ticket.primary_ticket_id).is_(None),
            col(Ticket.id) > after,
            or_(
                and_(
                    unanswered,
                    first_due <= now,
                    _not_announced(ESCALATED, "first_response", first_due),
                ),
                and_(
                    unanswered,
                    first_due > now,
                    first_warn <= now,
                    _not_announced(WARNING, "first_response", first_due),
                ),
                and_(due <= now, _not_announced(ESCALATED, "resolution", due)),
                and_(due > now, warn <= now, _not_announced(WARNING, "resolution", due)),
            ),
        )
        .order_by(col(Ticket.id))
        .limit(limit or _BATCH)
    )


async def _announced(session: AsyncSession, ticket_ids: list[int]) -> set[tuple[Any, ...]]:
    """(ticket, type, clock, due time) already announced (older escalations: resolution)."""
    seen: set[tuple[Any, ...]] = set()
    for start in range(0, len(ticket_ids), _BATCH):
        rows = await session.execute(
            select(Event.ticket_id, Event.type, Event.data).where(
                col(Event.ticket_id).in_(ticket_ids[start : start + _BATCH]),
                col(Event.type).in_([WARNING, ESCALATED]),
            )
        )
        for ticket_id, kind, data in rows:
            due = data.get("due_at")
            when = datetime.fromisoformat(due) if due else None
            seen.add((ticket_id, kind, data.get("clock", "resolution"), when))
    return seen


@dataclass
class _Recipients:
    departments: dict[int, tuple[str, str | None]]
    supervisors: dict[int, list[str]]
    emails: dict[int, str]

    def of(self, ticket: Ticket | Clocks, kind: str) -> tuple[str, ...]:
        _code, address = self.departments.get(ticket.department_id or -1, ("", None))
        assignee = self.emails.get(ticket.assignee_id or -1)
        if kind == WARNING:
            return tuple(a for a in [assignee or address] if a)
        chosen = [address, *self.supervisors.get(ticket.department_id or -1, []), assignee]
        return tuple(dict.fromkeys(a for a in chosen if a))


async def _recipients(session: AsyncSession) -> _Recipients:
    departments = {
        id_: (code, email)
        for id_, code, email in await session.execute(
            select(Department.id, Department.code, Department.email)
        )
    }
    supervisors: dict[int, list[str]] = defaultdict(list)
    emails: dict[int, str] = {}
    staff = await session.execute(
        select(User.id, User.role, User.department_id, User.email).where(
            col(User.active).is_(True), col(User.email).is_not(None)
        )
    )
    for user_id, role, department_id, email in staff:
        emails[user_id] = email
        if role == "supervisor" and department_id is not None:
            supervisors[department_id].append(email)
    return _Recipients(departments, supervisors, emails)


async def _announce_page(
    session: AsyncSession, page: list[Clocks], now: datetime, recipients: _Recipients
) -> list[SlaAlert]:
    """The alerts of one page of candidates, their events inserted together, and every
    deadline of the page marked announced on its ticket (one UPDATE per page)."""
    seen = await _announced(session, [t.id for t in page])
    alerts, marks = [], []
    for ticket in page:
        mark: dict[str, Any] = {}
        for kind, clock, due in due_alerts(ticket, now):
            mark[_ANNOUNCED_IN[(kind, clock)]] = due
            if (ticket.id, kind, clock, due) in seen:
                continue  # announced before the ticket kept track (an older store)
            department = recipients.departments.get(ticket.department_id or -1, (None, None))[0]
            to = recipients.of(ticket, kind)
            alerts.append(SlaAlert(ticket.id, ticket.reference, department, kind, clock, due, to))
        if mark:
            marks.append({"id": ticket.id, **mark})
    if alerts:  # Core statements: one multi-row INSERT, one executemany UPDATE
        await session.execute(insert(_EVENTS), [_event_row(alert) for alert in alerts])
    for columns, rows in _by_columns(marks).items():
        await session.execute(_marking(columns), rows)
    return alerts


_EVENTS, _TICKETS = Event.__table__, Ticket.__table__  # type: ignore[attr-defined]


def _marking(columns: tuple[str, ...]) -> Any:
    # Bound names differ from the columns' (Core's rule for an executemany UPDATE).
    return (
        update(_TICKETS)
        .where(_TICKETS.c.id == bindparam("b_id"))
        .values({name: bindparam(f"b_{name}") for name in columns if name != "id"})
    )


def _by_columns(marks: list[dict[str, Any]]) -> dict[tuple[str, ...], list[dict[str, Any]]]:
    # An executemany UPDATE sets the same columns in every row.
    grouped: dict[tuple[str, ...], list[dict[str, Any]]] = defaultdict(list)
    for mark in marks:
        grouped[tuple(sorted(mark))].append({f"b_{name}": value for name, value in mark.items()})
    return grouped


def _event_row(alert: SlaAlert) -> dict[str, Any]:
    return {
        "ticket_id": alert.ticket_id,
        "at": utcnow(),
        "actor": "sla",
        "type": alert.type,
        "data": {
            "clock": alert.clock,
            "due_at": alert.due_at.astimezone(UTC).isoformat(),
            "department": alert.department,
            "to": list(alert.to),
        },
    }


async def _new_alerts(session: AsyncSession, now: datetime) -> list[SlaAlert]:
    recipients = await _recipients(session)
    alerts: list[SlaAlert] = []
    after = 0
    while True:
        rows = (await session.execute(candidates(now, after=after))).all()
        if not rows:
            return alerts
        page = [Clocks(*row) for row in rows]
        alerts.extend(await _announce_page(session, page, now, recipients))
        after = page[-1].id


async def check_sla(deps: JobDeps, *, now: datetime | None = None) -> list[SlaAlert]:
    """Announce every deadline that has come and was not announced yet; returns them.

    Tickets are read a page at a time as rows, never all at once as objects: each
    ticket records the due times announced, so a check finds only new work by index."""
    moment = now or utcnow()
    async with deps.db.writing() as session:
        if not deps.db.is_sqlite:  # one check at a time across workers and replicas
            key = queries.advisory_key("sla_check")
            await session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": key})
        alerts = await _new_alerts(session, moment)
    await _mail(deps, alerts)
    return alerts


_SUBJECTS = {
    WARNING: ("تنبيه: بلاغات تقترب من موعدها", "SLA warning: tickets due soon"),
    ESCALATED: ("تصعيد: بلاغات تجاوزت موعدها", "SLA breached: tickets past their due time"),
}
_CLOCKS = {"first_response": ("أول رد", "first response"), "resolution": ("الحل", "resolution")}


def mail_text(alerts: list[SlaAlert], tz: Any) -> str:
    """The body of one notification: a line per ticket, Arabic then English."""
    lines = []
    for alert in alerts:
        arabic, english = _CLOCKS[alert.clock]
        due = alert.due_at.astimezone(tz).strftime("%Y-%m-%d %H:%M")
        department = alert.department or "-"
        lines.append(f"{alert.reference}  {department}  {arabic} / {english}  {due}")
    return "\n".join(lines) + "\n"


async def _mail(deps: JobDeps, alerts: list[SlaAlert]) -> None:
    grouped: dict[tuple[str, tuple[str, ...]], list[SlaAlert]] = defaultdict(list)
    for alert in alerts:
        if alert.to:
            grouped[(alert.type, alert.to)].append(alert)
    for (kind, to), group in grouped.items():
        arabic, english = _SUBJECTS[kind]
        subject = f"[qanat] {arabic} — {english} ({len(group)})"
        await notify_staff(deps, to, subject, mail_text(group, deps.settings.tz))


async def watch_sla(deps: JobDeps, *, every: timedelta = CHECK_EVERY) -> None:
    """Run :func:`check_sla` every ``every`` until cancelled (``qanat serve`` without Redis)."""
    while True:
        try:
            await check_sla(deps)
        except Exception:  # the store may be down for a moment: try again next time
            log.exception("SLA check failed")
        await asyncio.sleep(every.total_seconds())
