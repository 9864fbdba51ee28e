"""The dashboard's figures on fixed data, against values worked out by hand.

The shipped rules: working hours 07:00–14:15 (7.25 h a day), Sunday to Thursday; SLA
rows normal 8 h / 40 h, sewage complaint high 2 h / 8 h, urgent 1 h / 12 h on a
continuous clock. Week of Sunday 1 November 2026, Manama time; the clock stands at
Tuesday 10 November 12:00.
"""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from qanat.router.rules import load_rules
from qanat.router.sla import timing_of
from qanat.store.dashboard import TicketFacts, measure

BAHRAIN = ZoneInfo("Asia/Bahrain")
NOW = datetime(2026, 11, 10, 12, 0, tzinfo=BAHRAIN)


def at(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 11, day, hour, minute, tzinfo=BAHRAIN)


FACTS = [
    # A: normal. Answered after 2 h; resolved Tue 08:00 = Sun 6.25 + Mon 7.25 + Tue 1 = 14.5.
    TicketFacts(at(1, 8), "sms", "sewage", at(1, 10), at(3, 8), at(9, 8), None, None,
                "complaint", "normal", "resolved", "amal"),
    # B: sewage complaint high (2 h / 8 h). Answered after 1 h; resolved Tue 10:00 =
    # Mon 13:00–14:15 (1.25) + Tue 07:00–10:00 (3) = 4.25.
    TicketFacts(at(2, 13), "x", "sewage", at(2, 14), at(3, 10), at(3, 13, 45), None, None,
                "complaint", "high", "resolved"),
    # C: answered Sunday 09:00 after Thursday 13:00: 1.25 + 2 = 3.25 working hours (68 on
    # the wall clock: the weekend does not count). Open, due Sunday 15th: no breach yet.
    TicketFacts(at(5, 13), "email", "sewage", at(8, 9), None, at(15, 9, 30), None, None,
                "complaint", "normal", "open"),
    # D: never answered, due Sunday 8th 10:45: a breach; amal holds it.
    TicketFacts(at(1, 7), "sms", "sewage", None, None, at(8, 10, 45), None, None,
                "complaint", "normal", "open", "amal"),
    # E: urgent roads work on the continuous clock: answered after 0.5 h, resolved after
    # 14 h (12 allowed), past its due time: a breach; badr holds it.
    TicketFacts(at(4, 20), "sms", "roads", at(4, 20, 30), at(5, 10), at(5, 8), None, None,
                "complaint", "urgent", "resolved", "badr"),
]  # fmt: skip


def figures() -> object:
    timer = timing_of(load_rules(), BAHRAIN)
    return measure(FACTS, first_day=date(2026, 11, 1), days=10, now=NOW, tz=BAHRAIN, timer=timer)


def test_each_department_against_its_own_targets() -> None:
    sewage, roads = figures().departments  # type: ignore[attr-defined]
    assert sewage == {
        "department": "sewage", "tickets": 4, "answered": 3, "response_rate": 75.0,
        "first_response_hours": 2.0,  # median of 2, 1, 3.25
        "first_response_target": 8.0,  # median of 8, 2, 8, 8
        "first_response_within": 100.0,
        "resolution_hours": 9.4,  # median of 14.5 and 4.25 = 9.375
        "resolution_target": 40.0,  # median of 40, 8, 40, 40
        "resolution_within": 100.0,
        "breaches": 1,  # D
    }  # fmt: skip
    assert roads == {
        "department": "roads", "tickets": 1, "answered": 1, "response_rate": 100.0,
        "first_response_hours": 0.5, "first_response_target": 1.0, "first_response_within": 100.0,
        "resolution_hours": 14.0, "resolution_target": 12.0, "resolution_within": 0.0,
        "breaches": 1,
    }  # fmt: skip


def test_overall_and_each_agents_workload() -> None:
    result = figures()
    assert result.overall == {  # type: ignore[attr-defined]
        "tickets": 5, "answered": 4, "response_rate": 80.0,
        "first_response_hours": 1.5,  # median of 2, 1, 3.25, 0.5
        "first_response_target": 8.0, "first_response_within": 100.0,
        "resolution_hours": 14.0,  # median of 14.5, 4.25, 14
        "resolution_target": 40.0,
        "resolution_within": 66.7,  # E took 14 of 12 hours
        "breaches": 2,
    }  # fmt: skip
    assert result.agents == [  # type: ignore[attr-defined]
        {"assignee": "amal", "tickets": 2, "open": 1, "answered": 1, "resolved": 1, "overdue": 1},
        {"assignee": "badr", "tickets": 1, "open": 0, "answered": 1, "resolved": 1, "overdue": 0},
    ]


def test_a_pause_on_the_citizen_is_not_counted() -> None:
    paused = TicketFacts(at(1, 8), "sms", "sewage", at(2, 8), None, None, None, None,
                         "complaint", "normal", "open", None,
                         ((at(1, 9).isoformat(), at(1, 13).isoformat()),))  # fmt: skip
    timing = timing_of(load_rules(), BAHRAIN)(paused)
    assert timing.first_response_hours == 3.25  # Sun 6.25 − 4 paused + Mon 1
