"""Due times of a routing decision on its department's calendar."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from qanat.model import RoutingDecision
from qanat.router.calendar import WorkCalendar, due_at
from qanat.router.rules import RoutingRules


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


def due_times(
    decision: RoutingDecision, rules: RoutingRules, *, start: datetime, tz: ZoneInfo
) -> tuple[datetime | None, datetime | None]:
    """First-response and resolution due times (None when no SLA row applies)."""
    calendar = calendar_for(rules, decision.department, tz)
    continuous = decision.sla_clock == "continuous"

    def due(hours: float | None) -> datetime | None:
        return None if hours is None else due_at(start, hours, calendar, continuous=continuous)

    return due(decision.first_response_hours), due(decision.sla_hours)
