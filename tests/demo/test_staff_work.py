"""The plan of the demo staff's work: always in the past, a live mix on any day."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta

from qanat.demo.staff_work import TicketSeen, plan

NOW = datetime(2027, 2, 10, 9, 0, tzinfo=UTC)


def tickets(days: int = 21) -> list[TicketSeen]:
    """Five tickets a day for ``days`` days before NOW, every tenth a duplicate."""
    made = []
    for n in range(days * 5):
        created = NOW - timedelta(days=days) + timedelta(hours=n * 24 / 5)
        made.append(
            TicketSeen(
                reference=f"QN-2027-{n + 1:06d}",
                department=("sewage", "roads", "parks")[n % 3],
                created_at=created,
                priority="high" if n % 2 else "normal",
                duplicate=n % 10 == 9,
            )
        )
    return made


def test_every_step_is_in_the_past_in_time_order_by_the_department_staff() -> None:
    steps = plan(tickets(), NOW)
    assert steps and all(step.at < NOW for step in steps)
    assert [s.at for s in steps] == sorted(s.at for s in steps)
    by_reference = {t.reference: t for t in tickets()}
    for step in steps:
        department = by_reference[step.reference].department
        expected = {"sewage": {"agent", "supervisor"}, "roads": {"roads"}}.get(
            department, {"admin"}
        )
        assert step.username in expected, step


def test_a_live_mix_older_tickets_resolved_some_unanswered_some_waiting() -> None:
    seen = tickets()
    steps = plan(seen, NOW)
    actions: dict[str, set[str]] = {}
    for step in steps:
        actions.setdefault(step.reference, set()).add(step.action)
    duplicates = {t.reference for t in seen if t.duplicate}
    assert not duplicates & set(actions)  # their primary carries the work
    primaries = [t for t in seen if not t.duplicate]
    resolved = [t for t in primaries if "resolve" in actions.get(t.reference, set())]
    unanswered = [t for t in primaries if "reply" not in actions.get(t.reference, set())]
    waiting = [t for t in primaries if "pending" in actions.get(t.reference, set())]
    open_old = [
        t
        for t in primaries
        if NOW - t.created_at > timedelta(days=3) and t not in resolved and t not in waiting
    ]
    assert len(resolved) > len(primaries) / 3
    assert unanswered and waiting and open_old  # some left past their deadline
    assert all(NOW - t.created_at > timedelta(days=3) for t in resolved)
    assert not {t.reference for t in waiting} & {t.reference for t in resolved}
    assert Counter(s.action for s in steps)["priority"] >= 1


def test_steps_of_one_ticket_never_share_a_moment() -> None:
    steps = plan(tickets(), NOW)
    moments = Counter((step.reference, step.at) for step in steps)
    assert max(moments.values()) == 1  # a step done is recognised by its moment


def test_tomorrow_adds_steps_and_changes_none_of_todays() -> None:
    today = plan(tickets(), NOW)
    tomorrow = plan(tickets(), NOW + timedelta(days=1))
    assert set(today) <= set(tomorrow) and len(tomorrow) > len(today)
