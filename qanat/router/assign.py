"""Assignment inside a department: fair, on shift, and in the citizen's language."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, time
from typing import Literal

from qanat.router.calendar import WorkCalendar


@dataclass(frozen=True)
class AgentLoad:
    """An agent as assignment sees them."""

    user_id: int
    open_tickets: int
    languages: frozenset[str] = frozenset({"ar", "en"})
    on_shift: bool = True
    away: bool = False


def parse_shift(shift: str) -> tuple[time, time]:
    """``"07:00-15:00"`` as (start, end); a shift may run past midnight (``22:00-06:00``).

    Raises ``ValueError`` naming the shift when it is not two times.
    """
    start, sep, end = shift.partition("-")
    try:
        if not sep:
            raise ValueError
        return time.fromisoformat(start.strip()), time.fromisoformat(end.strip())
    except ValueError:
        raise ValueError(f"shift {shift!r}: write it as HH:MM-HH:MM, like 07:00-15:00") from None


def on_shift(shift: str | None, calendar: WorkCalendar, now: datetime) -> bool:
    """True when an agent with ``shift`` works at ``now``: on a working day of the
    calendar (not a holiday), between the shift's times. No shift: any time."""
    if shift is None:
        return True
    local = now.astimezone(calendar.tz)
    if not calendar.is_working_day(local.date()):
        return False
    start, end = parse_shift(shift)
    moment = local.time()
    return start <= moment < end if start < end else (moment >= start or moment < end)


def pick_assignee(
    agents: Sequence[AgentLoad],
    *,
    language: str,
    strategy: Literal["round_robin", "least_loaded"] = "least_loaded",
    last_assigned: int | None = None,
) -> int | None:
    """The agent to give the next ticket to, or None when nobody can take it.

    Only agents on shift and not away; those who speak the ticket's language first
    (mixed and Arabizi texts need Arabic). Round robin goes to the next agent after the
    last one assigned; least loaded to the one with fewest open tickets (ties by id).
    """
    needed = "ar" if language in ("ar", "mixed", "ar-Latn") else language
    available = [a for a in agents if a.on_shift and not a.away]
    speaking = [a for a in available if needed in a.languages] or available
    if not speaking:
        return None
    if strategy == "least_loaded":
        return min(speaking, key=lambda a: (a.open_tickets, a.user_id)).user_id
    ordered = sorted(a.user_id for a in speaking)
    after = [user for user in ordered if last_assigned is None or user > last_assigned]
    return (after or ordered)[0]
