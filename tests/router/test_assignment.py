"""New tickets given fairly to agents on shift who speak the citizen's language."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import col, select

from qanat import pipeline
from qanat.model import Inbound, Sender
from qanat.router.assign import on_shift, parse_shift
from qanat.router.calendar import WorkCalendar
from qanat.router.rules import SAMPLE_RULES, RulesSource
from qanat.runtime import Runtime
from qanat.store import queries
from qanat.store.tables import Event, Ticket, User

BAHRAIN = ZoneInfo("Asia/Bahrain")
CALENDAR = WorkCalendar(tz=BAHRAIN, holidays=frozenset({datetime(2026, 12, 16).date()}))


def local(day: int, hour: int, month: int = 11) -> datetime:
    return datetime(2026, month, day, hour, tzinfo=BAHRAIN)


def test_shifts_follow_the_working_week_holidays_and_midnight() -> None:
    assert on_shift("07:00-15:00", CALENDAR, local(29, 8))  # Sunday morning
    assert not on_shift("07:00-15:00", CALENDAR, local(29, 15))  # the shift has ended
    assert not on_shift("07:00-15:00", CALENDAR, local(27, 8))  # Friday
    assert not on_shift("07:00-15:00", CALENDAR, local(16, 8, month=12))  # National Day
    assert on_shift("22:00-06:00", CALENDAR, local(30, 23)) and on_shift(
        "22:00-06:00", CALENDAR, local(30, 5)
    )
    assert on_shift(None, CALENDAR, local(27, 3))  # no shift set: any time


def rules_with(tmp_path: Path, assignment: str) -> RulesSource:
    """The sample rules with ``assignment`` on sewage."""
    text = SAMPLE_RULES.read_text(encoding="utf-8").replace(
        "    email: sewage@works.example.bh\n",
        f"    email: sewage@works.example.bh\n    assignment: {assignment}\n",
    )
    (tmp_path / "rules.yaml").write_text(text, encoding="utf-8")
    (tmp_path / "holidays.yaml").write_text("holidays: []\n", encoding="utf-8")
    return RulesSource(tmp_path / "rules.yaml")


def off_shift_now() -> str:
    """A shift that is certainly not now (it starts in two hours)."""
    later = datetime.now(BAHRAIN) + timedelta(hours=2)
    return f"{later:%H:%M}-{(later + timedelta(hours=1)):%H:%M}"


async def sewage_team(runtime: Runtime, people: dict[str, dict[str, object]]) -> dict[str, int]:
    async with runtime.db.writing() as session:
        department = (await queries.department_ids(session))["sewage"]
        users = {
            name: User(
                username=name,
                display_name=name,
                password_hash="-",
                role="agent",
                department_id=department,
                **details,  # type: ignore[arg-type]
            )
            for name, details in people.items()
        }
        session.add_all(users.values())
        await session.flush()
        return {name: user.id or 0 for name, user in users.items()}


def sms(number: int, text: str) -> Inbound:
    phone = f"+9733300{number:04d}"
    return Inbound(
        channel="sms",
        external_id=f"SM{number}",
        received_at=datetime(2026, 11, 2, 5, tzinfo=UTC) + timedelta(minutes=number),
        sender=Sender(handle=phone, phone=phone),
        text=text,
    )


async def assignees(runtime: Runtime) -> list[int | None]:
    async with runtime.db.session() as session:
        rows = await session.execute(select(Ticket.assignee_id).order_by(col(Ticket.id)))
        return list(rows.scalars())


async def test_least_loaded_on_shift_in_the_citizen_s_language(
    runtime: Runtime, tmp_path: Path
) -> None:
    runtime.rules_source = rules_with(tmp_path, "least_loaded")
    team = await sewage_team(
        runtime,
        {
            "amal": {"languages": ["ar"]},
            "ben": {"languages": ["en"]},
            "away": {
                "languages": ["ar", "en"],
                "away_until": datetime.now(UTC) + timedelta(days=1),
            },
            "night": {"languages": ["ar", "en"], "shift": off_shift_now()},
        },
    )
    await runtime.intake.save(sms(1, "طفح مجاري في مجمع 305 طريق 45"))
    await runtime.intake.save(sms(2, "Sewage overflowing on road 3118 block 331"))
    await runtime.intake.save(sms(3, "المجاري مسدودة في مجمع 601 طريق 12"))
    # Amal has one open ticket now, Ben too: the third Arabic ticket still goes to the
    # only Arabic speaker on shift rather than to the English one.
    assert await assignees(runtime) == [team["amal"], team["ben"], team["amal"]]
    async with runtime.db.session() as session:
        [first, *_] = (
            await session.execute(
                select(Event.actor, Event.data).where(col(Event.type) == "assigned")
            )
        ).all()
    assert first[0] == "router" and first[1]["username"] == "amal"
    assert first[1]["reason"] == "least loaded: 0 open, language ar"


async def test_round_robin_takes_turns_and_processing_again_changes_nothing(
    runtime: Runtime, tmp_path: Path
) -> None:
    runtime.rules_source = rules_with(tmp_path, "round_robin")
    team = await sewage_team(runtime, {"amal": {}, "badr": {}})
    saved = [
        await runtime.intake.save(sms(n, f"طفح مجاري في مجمع {300 + n} طريق {n}"))
        for n in range(1, 4)
    ]
    # Different blocks: three problems, three tickets.
    assert await assignees(runtime) == [team["amal"], team["badr"], team["amal"]]
    again = await pipeline.process_message(runtime, saved[0].message_id)
    assert again.result == "skipped"
    async with runtime.db.session() as session:
        count = await queries.count_rows(session, Event, col(Event.type) == "assigned")
    assert count == 3


async def test_duplicates_triage_and_unassigning_departments_stay_in_the_queue(
    runtime: Runtime, tmp_path: Path
) -> None:
    runtime.rules_source = rules_with(tmp_path, "least_loaded")
    team = await sewage_team(runtime, {"amal": {}})
    await runtime.intake.save(sms(1, "طفح مجاري في مجمع 305 طريق 45"))
    await runtime.intake.save(sms(2, "طفح مجاري في مجمع 305 طريق 45"))  # a duplicate
    await runtime.intake.save(sms(3, "مرحبا"))  # triage
    await runtime.intake.save(sms(4, "حفرة كبيرة في طريق 12"))  # roads: assignment none
    assert await assignees(runtime) == [team["amal"], None, None, None]


async def test_nobody_on_shift_leaves_the_ticket_for_the_queue(
    runtime: Runtime, tmp_path: Path
) -> None:
    runtime.rules_source = rules_with(tmp_path, "least_loaded")
    await sewage_team(runtime, {"night": {"shift": off_shift_now()}})
    await runtime.intake.save(sms(1, "طفح مجاري في مجمع 305 طريق 45"))
    assert await assignees(runtime) == [None]


def test_a_shift_is_two_times() -> None:
    assert parse_shift("07:00-15:30") == (time(7), time(15, 30))
    with pytest.raises(ValueError, match="HH:MM-HH:MM"):
        parse_shift("mornings")
