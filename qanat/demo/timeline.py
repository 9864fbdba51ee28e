"""The demo's messages moved into the present: pure functions, no clock of their own.

``messages.jsonl`` is written in November 2026. Played on any other day, every time in
it moves by the same whole number of weeks, so that its last line falls within the week
from "now" on (weekdays stay true: "today is Thursday" is still said on a Thursday).
Lines whose moved time is still ahead of now wait for a later run, so the newest message
loaded is hours old, never days, and the oldest about three weeks. The
dates written inside the texts move too (``4 نوفمبر``, ``Tue, 3 Nov 2026``), and so do
the ticket references citizens quote, whose year and number follow the moved dates.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

WEEK = timedelta(days=7)
#: The year the file is written in: dates in its texts without a year are in it.
WRITTEN_IN = 2026
AR_MONTHS = [
    "يناير",
    "فبراير",
    "مارس",
    "أبريل",
    "مايو",
    "يونيو",
    "يوليو",
    "أغسطس",
    "سبتمبر",
    "أكتوبر",
    "نوفمبر",
    "ديسمبر",
]
EN_MONTHS = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
]
_EN_SHORT = [name[:3] for name in EN_MONTHS]
_AR_DATE = re.compile(rf"\b(\d{{1,2}}) ({'|'.join(AR_MONTHS)})( \d{{4}})?")
_EN_DAY_MONTH_YEAR = re.compile(rf"\b(\d{{1,2}}) ({'|'.join(_EN_SHORT)}) (\d{{4}})\b")
_EN_MONTH_DAY_YEAR = re.compile(rf"\b({'|'.join(EN_MONTHS)}) (\d{{1,2}}), (\d{{4}})\b")
_EN_RANGE = re.compile(rf"\b(\d{{1,2}})–(\d{{1,2}}) ({'|'.join(EN_MONTHS)})\b")
_REFERENCE = re.compile(r"\bQN-(\d{4})-(\d{6})\b")


def shift_for(last: datetime, now: datetime) -> timedelta:
    """How far to move the file: whole weeks, so ``last`` lands in ``[now, now + 7 days)``
    (the lines still ahead of now wait for a later run)."""
    return WEEK * math.ceil((now - last) / WEEK)


def _moved(day: int, month: int, year: int, shift: timedelta) -> date:
    return date(year, month, day) + timedelta(days=shift.days)


def move_dates_in(text: str, shift: timedelta) -> str:
    """``text`` with the calendar dates it writes out moved by ``shift``."""

    def arabic(match: re.Match[str]) -> str:
        year = int(match.group(3)) if match.group(3) else WRITTEN_IN
        moved = _moved(int(match.group(1)), AR_MONTHS.index(match.group(2)) + 1, year, shift)
        tail = f" {moved.year}" if match.group(3) else ""
        return f"{moved.day} {AR_MONTHS[moved.month - 1]}{tail}"

    def day_month_year(match: re.Match[str]) -> str:
        moved = _moved(
            int(match.group(1)), _EN_SHORT.index(match.group(2)) + 1, int(match.group(3)), shift
        )
        return f"{moved.day} {_EN_SHORT[moved.month - 1]} {moved.year}"

    def month_day_year(match: re.Match[str]) -> str:
        moved = _moved(
            int(match.group(2)), EN_MONTHS.index(match.group(1)) + 1, int(match.group(3)), shift
        )
        return f"{EN_MONTHS[moved.month - 1]} {moved.day}, {moved.year}"

    def day_range(match: re.Match[str]) -> str:
        month = EN_MONTHS.index(match.group(3)) + 1
        first = _moved(int(match.group(1)), month, WRITTEN_IN, shift)
        last = _moved(int(match.group(2)), month, WRITTEN_IN, shift)
        if first.month == last.month:
            return f"{first.day}–{last.day} {EN_MONTHS[first.month - 1]}"
        return f"{first.day} {EN_MONTHS[first.month - 1]}–{last.day} {EN_MONTHS[last.month - 1]}"

    for pattern, replace in (
        (_AR_DATE, arabic),
        (_EN_DAY_MONTH_YEAR, day_month_year),
        (_EN_MONTH_DAY_YEAR, month_day_year),
        (_EN_RANGE, day_range),
    ):
        text = pattern.sub(replace, text)
    return text


def references_by_line(times: list[datetime], tz: ZoneInfo) -> dict[int, tuple[int, int]]:
    """Line number (1-based) → (year, number) of the ticket it opens, for the lines before
    the first follow-up, where every line opens a ticket of its own: references are handed
    out in that order, numbered anew each year. ``times`` are those lines' moved times."""
    numbers: dict[int, tuple[int, int]] = {}
    per_year: dict[int, int] = {}
    for line, moment in enumerate(times, start=1):
        year = moment.astimezone(tz).year
        per_year[year] = per_year.get(year, 0) + 1
        numbers[line] = (year, per_year[year])
    return numbers


def move_references_in(text: str, references: dict[int, tuple[int, int]]) -> str:
    """``text`` with each quoted ``QN-2026-00000N`` made the reference line N now has."""

    def replace(match: re.Match[str]) -> str:
        moved = references.get(int(match.group(2)))
        if moved is None or int(match.group(1)) != WRITTEN_IN:
            return match.group(0)
        return f"QN-{moved[0]}-{moved[1]:06d}"

    return _REFERENCE.sub(replace, text)


def _each_string(value: Any, change: Callable[[str], str]) -> Any:
    if isinstance(value, str):
        return change(value)
    if isinstance(value, list):
        return [_each_string(item, change) for item in value]
    if isinstance(value, dict):
        return {key: _each_string(item, change) for key, item in value.items()}
    return value


def moved_record(
    record: dict[str, Any], shift: timedelta, references: dict[int, tuple[int, int]]
) -> dict[str, Any]:
    """One line of the file, moved: its time, the dates and references in its words."""

    def words(text: str) -> str:
        return move_references_in(move_dates_in(text, shift), references)

    moved = dict(record)
    moved["received_at"] = (datetime.fromisoformat(record["received_at"]) + shift).isoformat()
    for key in ("text", "subject", "html", "metadata"):
        if key in moved:
            moved[key] = _each_string(moved[key], words)
    return moved


def moved_lines(lines: list[str], shift: timedelta, tz: ZoneInfo) -> list[tuple[datetime, str]]:
    """Every line of the file moved by ``shift``, with its new time, in file order."""
    records = [json.loads(line) for line in lines]
    times = [datetime.fromisoformat(r["received_at"]) + shift for r in records]
    first_reply = next((i for i, r in enumerate(records) if r.get("in_reply_to")), len(records))
    references = references_by_line(times[:first_reply], tz)
    return [
        (moment, json.dumps(moved_record(record, shift, references), ensure_ascii=False))
        for moment, record in zip(times, records, strict=True)
    ]
