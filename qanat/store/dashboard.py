"""The dashboard's figures: volume, response rate, first response and resolution each
against its own target, breaches, each agent's workload and recurring places, over the
tickets a viewer may see.

:func:`ticket_facts` reads; :func:`measure` is pure (facts, a clock and a way to time a
ticket in). Times are SLA hours — working hours of the department's calendar on a
business clock, every hour on a continuous one, pauses left out — so they compare with
the targets as configured; the caller (who knows the rules) gives :class:`Timing`.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from statistics import median
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select as sa_select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from qanat.store.access import Viewer, visible_tickets
from qanat.store.tables import Department, Ticket, User

#: Places listed as recurring: at most this many, each with at least two tickets.
TOP_PLACES = 10
_OPEN = ("new", "open", "pending")


@dataclass(frozen=True)
class TicketFacts:
    """What the dashboard needs of one ticket."""

    created_at: datetime
    channel: str
    department: str | None
    first_response_at: datetime | None
    resolved_at: datetime | None
    sla_due_at: datetime | None
    block: str | None
    road: str | None
    kind: str = "complaint"
    priority: str = "normal"
    status: str = "new"
    assignee: str | None = None
    pauses: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class Timing:
    """One ticket against its targets: the configured hours, and the SLA hours it took
    (None: not answered or not resolved yet; no target: no SLA row applies)."""

    first_response_target: float | None = None
    resolution_target: float | None = None
    first_response_hours: float | None = None
    resolution_hours: float | None = None


Timer = Callable[[TicketFacts], Timing]


def calendar_hours(fact: TicketFacts) -> Timing:
    """Timing in plain hours and no targets (when no rules are at hand)."""

    def hours(later: datetime | None) -> float | None:
        return None if later is None else max(0.0, (later - fact.created_at).total_seconds() / 3600)

    return Timing(None, None, hours(fact.first_response_at), hours(fact.resolved_at))


@dataclass
class Figures:
    """Everything the dashboard shows, ready for charts and CSV."""

    days: list[date]
    per_channel: dict[str, list[int]]
    per_department: dict[str, list[int]]
    departments: list[dict[str, Any]]
    overall: dict[str, Any]
    places: list[dict[str, Any]] = field(default_factory=list)
    agents: list[dict[str, Any]] = field(default_factory=list)


async def ticket_facts(
    session: AsyncSession, *, viewer: Viewer, since: datetime
) -> list[TicketFacts]:
    """Facts of the tickets created since ``since`` that the viewer may see."""
    statement = (
        sa_select(
            col(Ticket.created_at),
            col(Ticket.channel),
            col(Department.code),
            col(Ticket.first_response_at),
            col(Ticket.resolved_at),
            col(Ticket.sla_due_at),
            col(Ticket.block),
            col(Ticket.road),
            col(Ticket.kind),
            col(Ticket.priority),
            col(Ticket.status),
            col(User.username),
            col(Ticket.sla_pauses),
        )
        .outerjoin(Department, col(Department.id) == col(Ticket.department_id))
        .outerjoin(User, col(User.id) == col(Ticket.assignee_id))
        .where(col(Ticket.created_at) >= since, visible_tickets(viewer))
    )
    rows: list[Any] = list((await session.execute(statement)).all())
    return [_facts(row) for row in rows]


def _facts(row: Any) -> TicketFacts:
    created, channel, department, first, resolved, due, block, road = row[:8]
    kind, priority, status, assignee, pauses = row[8:]
    return TicketFacts(
        created, channel, department, first, resolved, due, block, road,
        kind, priority, status, assignee, tuple((p[0], p[1]) for p in pauses or ()),
    )  # fmt: skip


def _median(values: list[float | None]) -> float | None:
    known = [v for v in values if v is not None]
    return round(median(known), 1) if known else None


def _within(pairs: list[tuple[float | None, float | None]]) -> float | None:
    """Share (%) of the measured times at or under their target."""
    judged = [(hours, target) for hours, target in pairs if hours is not None and target]
    if not judged:
        return None
    return round(100 * sum(1 for hours, target in judged if hours <= target) / len(judged), 1)


def breached(fact: TicketFacts, now: datetime) -> bool:
    """True when the ticket was (or still is, unresolved) past its due time."""
    if fact.sla_due_at is None:
        return False
    return (fact.resolved_at or now) > fact.sla_due_at


def performance(facts: list[TicketFacts], now: datetime, timer: Timer) -> dict[str, Any]:
    """Tickets, answered, response rate; first response and resolution against targets."""
    timings = [timer(f) for f in facts]
    answered = sum(1 for f in facts if f.first_response_at is not None)
    first = [(t.first_response_hours, t.first_response_target) for t in timings]
    resolution = [(t.resolution_hours, t.resolution_target) for t in timings]
    return {
        "tickets": len(facts),
        "answered": answered,
        "response_rate": round(100 * answered / len(facts), 1) if facts else None,
        "first_response_hours": _median([hours for hours, _ in first]),
        "first_response_target": _median([target for _, target in first]),
        "first_response_within": _within(first),
        "resolution_hours": _median([hours for hours, _ in resolution]),
        "resolution_target": _median([target for _, target in resolution]),
        "resolution_within": _within(resolution),
        "breaches": sum(1 for f in facts if breached(f, now)),
    }


def workload(facts: list[TicketFacts], now: datetime) -> list[dict[str, Any]]:
    """Per member of staff holding tickets: open now, answered, resolved, overdue now."""
    by_agent: dict[str, list[TicketFacts]] = defaultdict(list)
    for fact in facts:
        if fact.assignee:
            by_agent[fact.assignee].append(fact)
    rows = [
        {
            "assignee": agent,
            "tickets": len(group),
            "open": sum(1 for f in group if f.status in _OPEN),
            "answered": sum(1 for f in group if f.first_response_at is not None),
            "resolved": sum(1 for f in group if f.resolved_at is not None),
            "overdue": sum(1 for f in group if f.status in _OPEN and breached(f, now)),
        }
        for agent, group in by_agent.items()
    ]
    return sorted(rows, key=lambda row: (-row["open"], row["assignee"]))


def recurring_places(facts: list[TicketFacts]) -> list[dict[str, Any]]:
    """Blocks (and roads) with the most tickets: where problems come back."""
    counts: Counter[tuple[str, str | None]] = Counter()
    departments: dict[tuple[str, str | None], Counter[str]] = defaultdict(Counter)
    for fact in facts:
        if fact.block:
            place = (fact.block, fact.road)
            counts[place] += 1
            departments[place][fact.department or "-"] += 1
    return [
        {
            "block": block,
            "road": road,
            "tickets": count,
            "department": departments[(block, road)].most_common(1)[0][0],
        }
        for (block, road), count in counts.most_common(TOP_PLACES)
        if count >= 2
    ]


def measure(
    facts: list[TicketFacts],
    *,
    first_day: date,
    days: int,
    now: datetime,
    tz: ZoneInfo,
    timer: Timer = calendar_hours,
) -> Figures:
    """The dashboard's figures for ``days`` local days starting at ``first_day``."""
    calendar = [first_day + timedelta(days=n) for n in range(days)]
    index = {day: n for n, day in enumerate(calendar)}
    per_channel: dict[str, list[int]] = defaultdict(lambda: [0] * days)
    per_department: dict[str, list[int]] = defaultdict(lambda: [0] * days)
    by_department: dict[str, list[TicketFacts]] = defaultdict(list)
    for fact in facts:
        slot = index.get(fact.created_at.astimezone(tz).date())
        if slot is None:
            continue
        department = fact.department or "-"
        per_channel[fact.channel][slot] += 1
        per_department[department][slot] += 1
        by_department[department].append(fact)
    counted = [f for group in by_department.values() for f in group]
    rows = [
        {"department": code, **performance(group, now, timer)}
        for code, group in sorted(by_department.items(), key=lambda item: -len(item[1]))
    ]
    return Figures(
        days=calendar,
        per_channel=dict(sorted(per_channel.items(), key=lambda item: -sum(item[1]))),
        per_department=dict(sorted(per_department.items(), key=lambda item: -sum(item[1]))),
        departments=rows,
        overall=performance(counted, now, timer),
        places=recurring_places(counted),
        agents=workload(counted, now),
    )


PERFORMANCE_COLUMNS = (
    "department", "tickets", "answered", "response_rate", "first_response_hours",
    "first_response_target", "first_response_within", "resolution_hours", "resolution_target",
    "resolution_within", "breaches",
)  # fmt: skip
AGENT_COLUMNS = ("assignee", "tickets", "open", "answered", "resolved", "overdue")


def tables(figures: Figures) -> dict[str, tuple[list[str], list[list[Any]]]]:
    """Every table of the dashboard as (column keys, rows): what the CSV exports write."""
    return {
        "volume_by_channel": (
            ["day", "channel", "tickets"],
            [
                [day.isoformat(), channel, counts[n]]
                for channel, counts in figures.per_channel.items()
                for n, day in enumerate(figures.days)
            ],
        ),
        "volume_by_department": (
            ["day", "department", "tickets"],
            [
                [day.isoformat(), department, counts[n]]
                for department, counts in figures.per_department.items()
                for n, day in enumerate(figures.days)
            ],
        ),
        "performance": (
            list(PERFORMANCE_COLUMNS),
            [[row[key] for key in PERFORMANCE_COLUMNS] for row in figures.departments],
        ),
        "workload": (
            list(AGENT_COLUMNS),
            [[row[key] for key in AGENT_COLUMNS] for row in figures.agents],
        ),
        "recurring_places": (
            ["block", "road", "tickets", "department"],
            [[p["block"], p["road"], p["tickets"], p["department"]] for p in figures.places],
        ),
    }
