"""Due times and warning times of a ticket on its department's calendar.

A ticket's clocks start when its first message was received. The clock stops while the
ticket is pending on the citizen: each pause is kept on the ticket (``sla_pauses``) and,
when the citizen answers, the due times are counted again from the start with every
pause left out — so a weekend or a holiday inside a pause costs nothing twice.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

from qanat.model import Kind, Priority, RoutingDecision
from qanat.router.calendar import WorkCalendar, due_at, hours_between
from qanat.router.rules import RoutingRules, SlaRule
from qanat.store.dashboard import TicketFacts, Timing

Pauses = Sequence[tuple[datetime, datetime]]


@dataclass(frozen=True)
class SlaClocks:
    """A ticket's deadlines, and when staff are warned before each (None: no SLA row)."""

    first_response_due_at: datetime | None = None
    first_response_warn_at: datetime | None = None
    sla_due_at: datetime | None = None
    sla_warn_at: datetime | None = None


def calendar_for(rules: RoutingRules, department: str, tz: ZoneInfo) -> WorkCalendar:
    """The working calendar of a department: its hours, the working week, the holidays."""
    known = rules.department(department)
    opens, closes = known.hours() if known else (WorkCalendar.opens, WorkCalendar.closes)
    return WorkCalendar(
        opens=opens,
        closes=closes,
        working_days=frozenset(rules.working_days),
        holidays=frozenset(rules.holidays),
        tz=tz,
    )


def sla_clocks(
    rules: RoutingRules,
    *,
    department: str,
    first_response_hours: float | None,
    resolution_hours: float | None,
    continuous: bool,
    start: datetime,
    tz: ZoneInfo,
    pauses: Pauses = (),
) -> SlaClocks:
    """Due and warning times for these SLA hours, from ``start``, without ``pauses``."""
    calendar = calendar_for(rules, department, tz)

    def after(hours: float | None) -> datetime | None:
        if hours is None:
            return None
        return due_at(start, hours, calendar, pauses=pauses, continuous=continuous)

    warn = rules.sla_warning.warn_after
    return SlaClocks(
        first_response_due_at=after(first_response_hours),
        first_response_warn_at=after(warn(first_response_hours) if first_response_hours else None),
        sla_due_at=after(resolution_hours),
        sla_warn_at=after(warn(resolution_hours) if resolution_hours else None),
    )


def due_times(
    decision: RoutingDecision, rules: RoutingRules, *, start: datetime, tz: ZoneInfo
) -> SlaClocks:
    """The clocks of a new ticket, from its routing decision."""
    return sla_clocks(
        rules,
        department=decision.department,
        first_response_hours=decision.first_response_hours,
        resolution_hours=decision.sla_hours,
        continuous=decision.sla_clock == "continuous",
        start=start,
        tz=tz,
    )


def sla_of(rules: RoutingRules, department: str, kind: Kind, priority: Priority) -> SlaRule | None:
    """The most specific SLA row for department × kind × priority."""

    def fits(row: SlaRule) -> bool:
        return (
            row.department in ("*", department)
            and row.kind in ("*", kind.value)
            and row.priority in ("*", priority.value)
        )

    rows = [row for row in rules.sla if fits(row)]
    specificity = [sum(v != "*" for v in (r.department, r.kind, r.priority)) for r in rows]
    return max(zip(specificity, range(len(rows)), rows, strict=True))[2] if rows else None


def clocks_now(
    rules: RoutingRules,
    *,
    department: str,
    kind: Kind,
    priority: Priority,
    start: datetime,
    tz: ZoneInfo,
    pauses: Pauses,
) -> SlaClocks:
    """A ticket's clocks counted again (after a pause), from the SLA rows in force."""
    row = sla_of(rules, department, kind, priority)
    if row is None:
        return SlaClocks()
    return sla_clocks(
        rules,
        department=department,
        first_response_hours=row.first_response_hours,
        resolution_hours=row.resolution_hours,
        continuous=row.clock == "continuous",
        start=start,
        tz=tz,
        pauses=pauses,
    )


def pauses_from(stored: Sequence[Sequence[str]]) -> list[tuple[datetime, datetime]]:
    """The pauses a ticket keeps (``[[start, end], …]`` in ISO 8601) as datetimes."""
    return [(datetime.fromisoformat(begin), datetime.fromisoformat(end)) for begin, end in stored]


def timing_of(rules: RoutingRules, tz: ZoneInfo) -> Callable[[TicketFacts], Timing]:
    """How the dashboard times a ticket: its SLA row's targets, and the SLA hours it took
    to a first response and to resolution, on that row's clock and the department's
    calendar, pauses left out."""

    def timing(fact: TicketFacts) -> Timing:
        department = fact.department or rules.default_department
        try:
            row = sla_of(rules, department, Kind(fact.kind), Priority(fact.priority))
        except ValueError:  # a kind or priority the rules do not know
            row = None
        calendar = calendar_for(rules, department, tz)
        continuous = row is not None and row.clock == "continuous"
        pauses = pauses_from(fact.pauses)

        def taken(end: datetime | None) -> float | None:
            if end is None:
                return None
            hours = hours_between(
                fact.created_at, end, calendar, pauses=pauses, continuous=continuous
            )
            return round(hours, 2)

        return Timing(
            first_response_target=row.first_response_hours if row else None,
            resolution_target=row.resolution_hours if row else None,
            first_response_hours=taken(fact.first_response_at),
            resolution_hours=taken(fact.resolved_at),
        )

    return timing


def expected_time(
    rules: RoutingRules, *, department: str, hours: float | None, continuous: bool, tz: ZoneInfo
) -> tuple[int, str] | None:
    """How long the citizen may expect, as a count and a unit for words: an SLA of
    14.5 working hours on a 7¼-hour day is ``(2, "working_days")``; None without an SLA.

    Working-hour clocks count whole working days once the SLA is a day or more; a
    continuous clock counts days once it is 24 hours or more.
    """
    if hours is None or hours <= 0:
        return None
    if continuous:
        if hours >= 24:
            return math.ceil(hours / 24 - 1e-9), "days"
        return math.ceil(hours - 1e-9), "hours"
    calendar = calendar_for(rules, department, tz)
    day = (
        datetime.combine(date.min, calendar.closes) - datetime.combine(date.min, calendar.opens)
    ).total_seconds() / 3600
    if day <= 0 or hours < day:
        return math.ceil(hours - 1e-9), "working_hours"
    return math.ceil(hours / day - 1e-9), "working_days"
