"""The dashboard's figures: volume, response rate, response and resolution times vs SLA,
breaches and recurring places, over the tickets a viewer may see.

:func:`ticket_facts` reads; :func:`measure` is pure (facts and a clock in, figures out).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from statistics import median
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select as sa_select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from qanat.store.access import Viewer, visible_tickets
from qanat.store.tables import Department, Ticket

#: Places listed as recurring: at most this many, each with at least two tickets.
TOP_PLACES = 10


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


@dataclass
class Figures:
    """Everything the dashboard shows, ready for charts and CSV."""

    days: list[date]
    per_channel: dict[str, list[int]]
    per_department: dict[str, list[int]]
    departments: list[dict[str, Any]]
    overall: dict[str, Any]
    places: list[dict[str, Any]] = field(default_factory=list)


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
        )
        .outerjoin(Department, col(Department.id) == col(Ticket.department_id))
        .where(col(Ticket.created_at) >= since, visible_tickets(viewer))
    )
    return [TicketFacts(*row) for row in (await session.execute(statement)).all()]


def _hours(later: datetime | None, earlier: datetime) -> float | None:
    return None if later is None else max(0.0, (later - earlier).total_seconds() / 3600)


def _median(values: list[float | None]) -> float | None:
    known = [v for v in values if v is not None]
    return round(median(known), 1) if known else None


def breached(fact: TicketFacts, now: datetime) -> bool:
    """True when the ticket was (or still is, unresolved) past its due time."""
    if fact.sla_due_at is None:
        return False
    return (fact.resolved_at or now) > fact.sla_due_at


def performance(facts: list[TicketFacts], now: datetime) -> dict[str, Any]:
    """Tickets, answered, response rate, median times and SLA target, breaches."""
    answered = sum(1 for f in facts if f.first_response_at is not None)
    return {
        "tickets": len(facts),
        "answered": answered,
        "response_rate": round(100 * answered / len(facts), 1) if facts else None,
        "first_response_hours": _median([_hours(f.first_response_at, f.created_at) for f in facts]),
        "resolution_hours": _median([_hours(f.resolved_at, f.created_at) for f in facts]),
        "sla_hours": _median([_hours(f.sla_due_at, f.created_at) for f in facts]),
        "breaches": sum(1 for f in facts if breached(f, now)),
    }


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
    facts: list[TicketFacts], *, first_day: date, days: int, now: datetime, tz: ZoneInfo
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
    rows = [
        {"department": code, **performance(group, now)}
        for code, group in sorted(by_department.items(), key=lambda item: -len(item[1]))
    ]
    return Figures(
        days=calendar,
        per_channel=dict(sorted(per_channel.items(), key=lambda item: -sum(item[1]))),
        per_department=dict(sorted(per_department.items(), key=lambda item: -sum(item[1]))),
        departments=rows,
        overall=performance([f for group in by_department.values() for f in group], now),
        places=recurring_places(facts),
    )


def tables(figures: Figures) -> dict[str, tuple[list[str], list[list[Any]]]]:
    """Every table of the dashboard as (header, rows): what the CSV exports write."""
    performance_header = [
        "department",
        "tickets",
        "answered",
        "response_rate",
        "first_response_hours",
        "resolution_hours",
        "sla_hours",
        "breaches",
    ]
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
            performance_header,
            [[row[key] for key in performance_header] for row in figures.departments],
        ),
        "recurring_places": (
            ["block", "road", "tickets", "department"],
            [[p["block"], p["road"], p["tickets"], p["department"]] for p in figures.places],
        ),
    }
