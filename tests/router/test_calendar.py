"""SLA clocks across the Bahraini weekend, holidays, pauses and continuous urgent work."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from qanat.router.calendar import WorkCalendar, due_at, hours_between

BAHRAIN = ZoneInfo("Asia/Bahrain")
CALENDAR = WorkCalendar(
    opens=time(7),
    closes=time(14),
    tz=BAHRAIN,
    holidays=frozenset({date(2026, 12, 16), date(2026, 12, 17)}),
)


def at(day: int, hour: int, minute: int = 0, month: int = 11) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=BAHRAIN)


def test_hours_count_inside_the_working_day() -> None:
    assert due_at(at(22, 8), 3, CALENDAR) == at(22, 11)  # Sunday morning
    assert due_at(at(22, 13), 3, CALENDAR) == at(23, 9)  # runs over into Monday


def test_friday_and_saturday_do_not_count() -> None:
    # Thursday 26 Nov 12:00 + 4 business hours: 2 on Thursday, 2 on Sunday 29 Nov.
    assert due_at(at(26, 12), 4, CALENDAR) == at(29, 9)
    # Received on Friday: the clock starts Sunday at opening.
    assert due_at(at(27, 10), 1, CALENDAR) == at(29, 8)


def test_holidays_do_not_count() -> None:
    # Tuesday 15 Dec 13:00 + 2h: 1h on the 15th; 16–17 are National Day; Fri–Sat off.
    assert due_at(at(15, 13, month=12), 2, CALENDAR) == at(20, 8, month=12)


def test_the_clock_pauses_while_waiting_on_the_citizen() -> None:
    pauses = [(at(22, 9), at(23, 12))]  # pending from Sunday 09:00 to Monday 12:00
    assert due_at(at(22, 8), 3, CALENDAR, pauses=pauses) == at(23, 14)


def test_urgent_work_runs_on_a_continuous_clock_with_pauses() -> None:
    assert due_at(at(27, 22), 12, CALENDAR, continuous=True) == at(28, 10)
    pauses = [(at(28, 0), at(28, 2))]
    assert due_at(at(27, 22), 12, CALENDAR, continuous=True, pauses=pauses) == at(28, 12)


def test_hours_between_counts_what_due_at_counts() -> None:
    calendar = WorkCalendar(tz=BAHRAIN)
    start = datetime(2026, 11, 5, 13, 0, tzinfo=BAHRAIN)  # Thursday 13:00, closes 14:15
    due = due_at(start, 3, calendar)  # 1.25 h Thursday, then Sunday 07:00 + 1.75 h
    assert due == datetime(2026, 11, 8, 8, 45, tzinfo=BAHRAIN)
    assert hours_between(start, due, calendar) == 3
    assert hours_between(start, datetime(2026, 11, 7, 12, 0, tzinfo=BAHRAIN), calendar) == 1.25
    assert hours_between(start, start + timedelta(hours=30), calendar, continuous=True) == 30
    pause = (
        datetime(2026, 11, 5, 13, 30, tzinfo=BAHRAIN),
        datetime(2026, 11, 5, 14, 0, tzinfo=BAHRAIN),
    )
    assert hours_between(start, due, calendar, pauses=[pause]) == 2.5
