"""The dashboard's figures, computed from ticket facts and a fixed clock."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from qanat.store.dashboard import TicketFacts, breached, measure, tables

BAHRAIN = ZoneInfo("Asia/Bahrain")
DAY_ONE = datetime(2026, 11, 1, 6, 0, tzinfo=UTC)  # 09:00 in Manama
NOW = datetime(2026, 11, 4, 12, 0, tzinfo=UTC)


def fact(
    *,
    day: int = 0,
    channel: str = "sms",
    department: str | None = "sewage",
    answered_after: float | None = None,
    resolved_after: float | None = None,
    sla_hours: float | None = None,
    block: str | None = None,
    road: str | None = None,
) -> TicketFacts:
    created = DAY_ONE + timedelta(days=day)

    def later(hours: float | None) -> datetime | None:
        return created + timedelta(hours=hours) if hours is not None else None

    return TicketFacts(
        created_at=created,
        channel=channel,
        department=department,
        first_response_at=later(answered_after),
        resolved_at=later(resolved_after),
        sla_due_at=later(sla_hours),
        block=block,
        road=road,
    )


def test_volume_per_day_channel_and_department() -> None:
    facts = [
        fact(day=0, channel="sms"),
        fact(day=0, channel="x"),
        fact(day=2, channel="x", department="roads"),
        fact(day=9),  # outside the period
    ]
    figures = measure(facts, first_day=date(2026, 11, 1), days=3, now=NOW, tz=BAHRAIN)
    assert figures.days == [date(2026, 11, 1), date(2026, 11, 2), date(2026, 11, 3)]
    assert figures.per_channel == {"x": [1, 0, 1], "sms": [1, 0, 0]}
    assert figures.per_department == {"sewage": [2, 0, 0], "roads": [0, 0, 1]}


def test_local_days_decide_the_bucket() -> None:
    # 22:30 UTC on the 1st is 01:30 on the 2nd in Manama.
    late = TicketFacts(
        created_at=datetime(2026, 11, 1, 22, 30, tzinfo=UTC),
        channel="sms",
        department="sewage",
        first_response_at=None,
        resolved_at=None,
        sla_due_at=None,
        block=None,
        road=None,
    )
    figures = measure([late], first_day=date(2026, 11, 1), days=2, now=NOW, tz=BAHRAIN)
    assert figures.per_channel == {"sms": [0, 1]}


def test_response_rate_medians_and_breaches() -> None:
    facts = [
        fact(answered_after=1, resolved_after=10, sla_hours=24),
        fact(answered_after=3, resolved_after=30, sla_hours=24),  # resolved late: a breach
        fact(answered_after=None, sla_hours=24),  # still open, due long ago: a breach
        fact(answered_after=5, sla_hours=None),
    ]
    figures = measure(facts, first_day=date(2026, 11, 1), days=1, now=NOW, tz=BAHRAIN)
    [sewage] = figures.departments
    assert sewage == {  # plain hours: without rules there are no targets
        "department": "sewage",
        "tickets": 4,
        "answered": 3,
        "response_rate": 75.0,
        "first_response_hours": 3.0,
        "first_response_target": None,
        "first_response_within": None,
        "resolution_hours": 20.0,
        "resolution_target": None,
        "resolution_within": None,
        "breaches": 2,
    }
    assert figures.overall["breaches"] == 2


def test_breach_needs_a_due_time() -> None:
    assert not breached(fact(resolved_after=500), NOW)
    assert breached(fact(sla_hours=1), NOW)
    assert not breached(fact(sla_hours=1000), NOW)


def test_recurring_places_and_csv_tables() -> None:
    facts = [
        fact(block="305", road="45"),
        fact(block="305", road="45"),
        fact(block="305", road="45", department="roads"),
        fact(block="338"),  # once is not recurring
        fact(block=None),
    ]
    figures = measure(facts, first_day=date(2026, 11, 1), days=1, now=NOW, tz=BAHRAIN)
    assert figures.places == [{"block": "305", "road": "45", "tickets": 3, "department": "sewage"}]
    exported = tables(figures)
    assert set(exported) == {
        "volume_by_channel",
        "volume_by_department",
        "performance",
        "workload",
        "recurring_places",
    }
    header, rows = exported["recurring_places"]
    assert header == ["block", "road", "tickets", "department"]
    assert rows == [["305", "45", 3, "sewage"]]
    assert exported["volume_by_channel"][1] == [["2026-11-01", "sms", 5]]


def test_no_tickets_no_figures() -> None:
    figures = measure([], first_day=date(2026, 11, 1), days=2, now=NOW, tz=BAHRAIN)
    assert figures.overall["tickets"] == 0 and figures.overall["response_rate"] is None
    assert figures.departments == [] and figures.places == []
