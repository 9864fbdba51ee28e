"""Numbers and spans of time as staff read them, in Arabic and English: pure functions.

Arabic counts change form with the number (يوم، يومين، 3 أيام، 11 يومًا); the forms here
read right after a verb or a preposition ("تأخرت يومين", "بفارق 3 ساعات").
"""

from __future__ import annotations

from datetime import timedelta

#: unit → Arabic (one, two, 3–10, 11 and more) and English (one, many).
UNITS: dict[str, tuple[tuple[str, str, str, str], tuple[str, str]]] = {
    "minute": (("دقيقة واحدة", "دقيقتين", "{n} دقائق", "{n} دقيقة"), ("1 minute", "{n} minutes")),
    "hour": (("ساعة واحدة", "ساعتين", "{n} ساعات", "{n} ساعة"), ("1 hour", "{n} hours")),
    "day": (("يوم واحد", "يومين", "{n} أيام", "{n} يومًا"), ("1 day", "{n} days")),
}


def count_of(language: str, n: int, unit: str) -> str:
    """``n`` of ``unit`` (minute, hour, day) in ``language``, with the right form."""
    arabic, english = UNITS[unit]
    if language != "ar":
        return english[0] if n == 1 else english[1].format(n=n)
    if n == 1:
        return arabic[0]
    if n == 2:
        return arabic[1]
    return (arabic[2] if 3 <= n % 100 <= 10 else arabic[3]).format(n=n)


def span(language: str, length: timedelta) -> str:
    """A span of time rounded as people say it: minutes under an hour, hours under two
    days, else days."""
    minutes = max(0, round(abs(length.total_seconds()) / 60))
    if minutes < 60:
        return count_of(language, max(1, minutes), "minute")
    hours = round(minutes / 60)
    if hours < 48:
        return count_of(language, hours, "hour")
    return count_of(language, round(hours / 24), "day")


def hours_span(language: str, hours: float) -> str:
    """:func:`span` of a number of hours (as duplicate evidence records the time apart)."""
    return span(language, timedelta(hours=hours))


def percent(language: str, value: float) -> str:
    """A percentage: ``43 %`` / ``43٪``."""
    number = f"{value:.0f}"
    return f"{number}٪" if language == "ar" else f"{number} %"


def joined(language: str, parts: list[str]) -> str:
    """Parts joined as a sentence does: ``a, b and c`` / ``أ وب وج``."""
    if not parts:
        return ""
    if language == "ar":
        return " و".join(parts)
    if len(parts) == 1:
        return parts[0]
    return ", ".join(parts[:-1]) + " and " + parts[-1]
