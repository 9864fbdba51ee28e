"""The demo's file moved into the present: whole weeks, dates and references in the text."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from qanat.demo import demo_messages_path
from qanat.demo.timeline import (
    move_dates_in,
    move_references_in,
    moved_lines,
    references_by_line,
    shift_for,
)
from qanat.model import Inbound

BAHRAIN = ZoneInfo("Asia/Bahrain")
LAST = datetime.fromisoformat("2026-11-21T21:10:00+03:00")


@pytest.mark.parametrize(
    "now",
    [
        "2026-11-21T21:10:00+03:00",  # the file's own last minute: no move
        "2026-12-07T12:45:00+00:00",
        "2027-02-06T08:00:00+03:00",
        "2026-10-01T00:00:00+00:00",  # before the file: it moves back
    ],
)
def test_the_last_message_lands_within_a_week_from_now_in_whole_weeks(now: str) -> None:
    moment = datetime.fromisoformat(now)
    shift = shift_for(LAST, moment)
    assert shift % timedelta(days=7) == timedelta(0)
    assert moment <= LAST + shift < moment + timedelta(days=7)
    assert (LAST + shift).weekday() == LAST.weekday()


def test_dates_written_in_the_texts_move_with_their_weekday() -> None:
    three_weeks, nine_weeks = timedelta(weeks=3), timedelta(weeks=9)
    assert move_dates_in("اتصلت يوم 4 نوفمبر", three_weeks) == "اتصلت يوم 25 نوفمبر"
    assert move_dates_in("المجلس الأسبوعي - 2 نوفمبر 2026", nine_weeks) == (
        "المجلس الأسبوعي - 4 يناير 2027"
    )
    quoted = move_dates_in("On Tue, 3 Nov 2026 at 07:50, Daniel wrote:", three_weeks)
    assert quoted == "On Tue, 24 Nov 2026 at 07:50, Daniel wrote:"
    assert datetime(2026, 11, 24).strftime("%a") == "Tue"
    sent = move_dates_in("Sent: Wednesday, November 4, 2026 11:00 AM", nine_weeks)
    assert sent == "Sent: Wednesday, January 6, 2027 11:00 AM"
    works = move_dates_in("maintenance from 1–5 December", timedelta(weeks=4))
    assert works == "maintenance from 29 December–2 January"
    assert move_dates_in("hot even in November afternoons", nine_weeks) == (
        "hot even in November afternoons"
    )


def test_quoted_references_follow_the_year_and_number_of_the_moved_ticket() -> None:
    # Three tickets, the third after New Year: numbering starts again in 2027.
    times = [
        datetime(2026, 12, 31, 9, tzinfo=BAHRAIN),
        datetime(2026, 12, 31, 22, tzinfo=BAHRAIN),
        datetime(2027, 1, 1, 8, tzinfo=BAHRAIN),
    ]
    references = references_by_line(times, BAHRAIN)
    assert references == {1: (2026, 1), 2: (2026, 2), 3: (2027, 1)}
    text = "بخصوص البلاغ رقم QN-2026-000003 و QN-2026-000002 و QN-2025-000001"
    assert move_references_in(text, references) == (
        "بخصوص البلاغ رقم QN-2027-000001 و QN-2026-000002 و QN-2025-000001"
    )


def test_every_moved_line_is_still_a_message_and_keeps_its_order() -> None:
    lines = demo_messages_path().read_text(encoding="utf-8").splitlines()
    shift = timedelta(weeks=10)
    moved = moved_lines(lines, shift, BAHRAIN)
    assert len(moved) == len(lines)
    for (moment, line), original in zip(moved, lines, strict=True):
        inbound = Inbound.model_validate_json(line)
        before = json.loads(original)
        assert inbound.received_at == moment
        assert moment - datetime.fromisoformat(before["received_at"]) == shift
        assert inbound.external_id == before["external_id"]  # the same message, moved
    assert [m for m, _ in moved] == sorted(m for m, _ in moved)
    texts = " ".join(line for _, line in moved)
    assert "نوفمبر 2026" not in texts and "Nov 2026" not in texts
