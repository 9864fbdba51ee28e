"""SLA clocks on a government calendar: business hours, the Bahraini working week
(Sunday–Thursday), public holidays, and pauses while a ticket waits on the citizen.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from qanat.router.rules import DAYS

#: How far ahead a due time is searched before giving up (a misconfigured calendar).
HORIZON_DAYS = 800


@dataclass(frozen=True)
class WorkCalendar:
    """When a department's SLA clock runs."""

    opens: time = time(7, 0)
    closes: time = time(14, 15)
    working_days: frozenset[str] = frozenset(
        {"sunday", "monday", "tuesday", "wednesday", "thursday"}
    )
    holidays: frozenset[date] = field(default_factory=frozenset)
    tz: ZoneInfo = field(default_factory=lambda: ZoneInfo("Asia/Bahrain"))

    def is_working_day(self, day: date) -> bool:
        """True on a working weekday that is not a holiday."""
        return DAYS[day.weekday()] in self.working_days and day not in self.holidays

    def windows(self, start: datetime) -> Iterator[tuple[datetime, datetime]]:
        """Business-hour windows from ``start`` on, in order."""
        local = start.astimezone(self.tz)
        for offset in range(HORIZON_DAYS):
            day = local.date() + timedelta(days=offset)
            if not self.is_working_day(day):
                continue
            opens = datetime.combine(day, self.opens, tzinfo=self.tz)
            closes = datetime.combine(day, self.closes, tzinfo=self.tz)
            begin = max(opens, local)
            if begin < closes:
                yield begin, closes
        raise ValueError("no working time within the horizon: check the calendar")


def _minus_pauses(
    window: tuple[datetime, datetime], pauses: Sequence[tuple[datetime, datetime]]
) -> list[tuple[datetime, datetime]]:
    pieces = [window]
    for pause_start, pause_end in pauses:
        next_pieces = []
        for begin, end in pieces:
            if pause_end <= begin or pause_start >= end:
                next_pieces.append((begin, end))
                continue
            if begin < pause_start:
                next_pieces.append((begin, pause_start))
            if pause_end < end:
                next_pieces.append((pause_end, end))
        pieces = next_pieces
    return pieces


def due_at(
    start: datetime,
    hours: float,
    calendar: WorkCalendar,
    *,
    pauses: Sequence[tuple[datetime, datetime]] = (),
    continuous: bool = False,
) -> datetime:
    """When ``hours`` of SLA time have run from ``start``.

    Business clocks count only working hours of working days; a continuous clock (urgent
    work) counts every hour. Either way the clock stops during ``pauses`` (a ticket
    pending on the citizen) and resumes after.
    """
    remaining = timedelta(hours=hours)
    if continuous:
        now = start
        for pause_start, pause_end in sorted(pauses):
            if pause_start >= now + remaining:
                break
            if pause_end <= now:
                continue
            remaining -= max(pause_start - now, timedelta(0))
            now = max(now, pause_end)
        return now + remaining
    for window in calendar.windows(start):
        for begin, end in _minus_pauses(window, sorted(pauses)):
            if end - begin >= remaining:
                return begin + remaining
            remaining -= end - begin
    raise AssertionError("unreachable: windows() raises past its horizon")


def hours_between(
    start: datetime,
    end: datetime,
    calendar: WorkCalendar,
    *,
    pauses: Sequence[tuple[datetime, datetime]] = (),
    continuous: bool = False,
) -> float:
    """SLA hours that ran from ``start`` to ``end`` (what :func:`due_at` counts): working
    hours of working days on a business clock, every hour on a continuous one, never the
    pauses. The dashboard measures against the targets with it."""
    if end <= start:
        return 0.0
    if continuous:
        windows = [(start, end)]
    else:
        windows = []
        for begin, close in calendar.windows(start):
            if begin >= end:
                break
            windows.append((begin, min(close, end)))
    counted = timedelta(0)
    for window in windows:
        for begin, finish in _minus_pauses(window, sorted(pauses)):
            counted += finish - begin
    return counted.total_seconds() / 3600
