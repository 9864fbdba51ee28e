"""The notices' wording: expected times in words, placeholders, quiet hours."""

from __future__ import annotations

from datetime import UTC, datetime, time
from zoneinfo import ZoneInfo

import pytest

from qanat.errors import BadPayload
from qanat.router.rules import DepartmentRule, RoutingRules
from qanat.router.sla import expected_time
from qanat.store.notices import (
    DEFAULTS,
    KINDS,
    PLACEHOLDERS,
    QuietHours,
    check_template,
    due_time,
    language_of,
    parse_quiet_hours,
    render,
    within_words,
)

BAHRAIN = ZoneInfo("Asia/Bahrain")


@pytest.mark.parametrize(
    ("amount", "unit", "arabic", "english"),
    [
        (1, "working_days", "خلال يوم عمل واحد", "within 1 working day"),
        (2, "working_days", "خلال يومي عمل", "within 2 working days"),
        (5, "working_days", "خلال 5 أيام عمل", "within 5 working days"),
        (15, "working_days", "خلال 15 يوم عمل", "within 15 working days"),
        (2, "hours", "خلال ساعتين", "within 2 hours"),
        (4, "working_hours", "خلال 4 ساعات عمل", "within 4 working hours"),
        (3, "days", "خلال 3 أيام", "within 3 days"),
        (0, "days", "خلال يوم واحد", "within 1 day"),
    ],
)
def test_expected_times_read_well_in_both_languages(
    amount: int, unit: str, arabic: str, english: str
) -> None:
    assert within_words(amount, unit, "ar") == arabic
    assert within_words(amount, unit, "en") == english


def test_expected_time_counts_working_days_of_the_departments_calendar() -> None:
    roads = DepartmentRule(code="x", name_en="Roads", name_ar="الطرق")  # 07:00-14:15
    rules = RoutingRules(default_department="x", departments=[roads])
    assert expected_time(rules, department="x", hours=14.5, continuous=False, tz=BAHRAIN) == (
        2,
        "working_days",
    )
    assert expected_time(rules, department="x", hours=15, continuous=False, tz=BAHRAIN) == (
        3,
        "working_days",
    )
    assert expected_time(rules, department="x", hours=4, continuous=False, tz=BAHRAIN) == (
        4,
        "working_hours",
    )
    assert expected_time(rules, department="x", hours=48, continuous=True, tz=BAHRAIN) == (
        2,
        "days",
    )
    assert expected_time(rules, department="x", hours=6, continuous=True, tz=BAHRAIN) == (
        6,
        "hours",
    )
    assert expected_time(rules, department="x", hours=None, continuous=False, tz=BAHRAIN) is None


def test_render_fills_placeholders_never_shows_one_and_tidies_spaces() -> None:
    text = render("About {reference}: done. {resolution}", {"reference": "QN-1", "resolution": ""})
    assert text == "About QN-1: done."
    # A resolution notice decided without a resolution message (a field visit) reads
    # cleanly: a placeholder with no value is left empty; other braces are text.
    assert render("About {reference}: done. {resolution}", {"reference": "QN-1"}) == (
        "About QN-1: done."
    )
    assert render("{reference} {unknown} {0}", {"reference": "QN-1"}) == "QN-1 {0}"


def test_every_default_is_bilingual_and_uses_only_its_placeholders() -> None:
    assert set(DEFAULTS) == set(KINDS) == set(PLACEHOLDERS)
    for kind in KINDS:
        check_template(kind, DEFAULTS[kind]["ar"])
        check_template(kind, DEFAULTS[kind]["en"])
        assert any("\u0600" <= ch <= "\u06ff" for ch in DEFAULTS[kind]["ar"])
        assert DEFAULTS[kind]["en"].isascii()


def test_a_template_naming_a_placeholder_its_kind_lacks_is_refused() -> None:
    with pytest.raises(BadPayload, match=r"\{needed\} is not a placeholder"):
        check_template("ack", "{reference} {needed}")
    with pytest.raises(BadPayload, match="needs some text"):
        check_template("ack", "  ")


def test_languages_other_than_english_get_arabic() -> None:
    assert [language_of(x) for x in ("en", "EN-gb", "ar", "mixed", None)] == [
        "en",
        "en",
        "ar",
        "ar",
        "ar",
    ]


def test_quiet_hours_across_midnight_hold_until_they_end() -> None:
    quiet = parse_quiet_hours("sms=21:00-07:00, telegram=01:00-05:00")
    assert quiet["sms"] == QuietHours(time(21), time(7))
    late = datetime(2026, 11, 2, 20, 0, tzinfo=UTC)  # 23:00 in Bahrain
    morning = datetime(2026, 11, 3, 4, 0, tzinfo=UTC)  # 07:00 the next day
    assert due_time("sms", late, quiet=quiet, tz=BAHRAIN) == morning
    early = datetime(2026, 11, 3, 0, 30, tzinfo=UTC)  # 03:30
    assert due_time("sms", early, quiet=quiet, tz=BAHRAIN) == morning
    day = datetime(2026, 11, 3, 9, 0, tzinfo=UTC)  # noon
    assert due_time("sms", day, quiet=quiet, tz=BAHRAIN) == day
    assert due_time("x", late, quiet=quiet, tz=BAHRAIN) == late
    assert due_time("telegram", early, quiet=quiet, tz=BAHRAIN) == datetime(
        2026, 11, 3, 2, 0, tzinfo=UTC
    )
    with pytest.raises(ValueError, match="not like"):
        parse_quiet_hours("sms=late")
