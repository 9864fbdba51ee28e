"""The daily report as people read it: one HTML page in Arabic and English, styled like
the inbox, and CSV with headers in both languages — names instead of codes throughout.

Pure functions from report lines and the departments' names to text. The words are the
report's own (the jobs do not reach the web layer's).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping
from datetime import date
from html import escape

from qanat.jobs.reports import ReportLine

#: key → (Arabic, English).
WORDS: dict[str, tuple[str, str]] = {
    "title": ("التقرير اليومي", "Daily report"),
    "department": ("القسم", "Department"),
    "channel": ("القناة", "Channel"),
    "by_department": ("حسب القسم", "By department"),
    "by_channel": ("حسب القناة", "By channel"),
    "group": ("المجموعة", "Group"),
    "name": ("الاسم", "Name"),
    "received": ("المستلمة", "Received"),
    "resolved": ("المحلولة", "Resolved"),
    "responded": ("تم الرد عليها", "Answered"),
    "response_rate": ("نسبة الرد (٪)", "Response rate (%)"),
    "median_first_response_h": ("أول رد (ساعات، الوسيط)", "First response (hours, median)"),
    "median_resolution_h": ("الحل (ساعات، الوسيط)", "Resolution (hours, median)"),
    "breaches": ("تجاوزات الموعد", "SLA breaches"),
    "csat": ("رضا المواطنين (٪)", "Satisfied (%)"),
    "average_score": ("متوسط التقييم (من 5)", "Average score (of 5)"),
    "survey_response_rate": ("نسبة من أجاب عن «هل حُلّت؟» (٪)", 'Answered "is it fixed?" (%)'),
    "reopen_rate": ("أُعيد فتحها بطلب المواطن (٪)", "Reopened by the citizen (%)"),
    "chart": ("المستلمة والمحلولة لكل قسم", "Received and resolved per department"),
    "nothing": ("لا شيء في هذا اليوم.", "Nothing that day."),
    "unassigned": ("دون قسم", "No department"),
    "field": ("الزيارات الميدانية", "Field visits"),
    "by_field": ("الزيارات الميدانية", "Field visits"),
    "count": ("العدد", "Count"),
}
#: Channels by name (what the inbox calls them).
CHANNELS: dict[str, tuple[str, str]] = {
    "x": ("إكس", "X"), "telegram": ("تيليجرام", "Telegram"), "email": ("بريد إلكتروني", "Email"),
    "sms": ("رسالة نصية", "SMS"), "call_centre": ("مركز الاتصال", "Call centre"),
    "web": ("الموقع", "Web form"), "app": ("التطبيق", "App"), "majlis": ("المجلس", "Majlis"),
    "council": ("مجلس التنسيق", "Council"), "field_visit": ("زيارة ميدانية", "Field visit"),
    "walk_in": ("حضور شخصي", "Walk-in"), "letter": ("خطاب", "Letter"),
    "open311": ("Open311", "Open311"),
}  # fmt: skip
#: How the day's field visits ended (the lines of group ``field``), by name.
VISITS: dict[str, tuple[str, str]] = {
    "visits": ("كل الزيارات", "All visits"), "resolved": ("حُلّت في الموقع", "Resolved on site"),
    "needs_work": ("تحتاج عملًا من قسم", "Needs work by a department"),
    "violation": ("سُجّلت مخالفة", "Violation recorded"),
    "no_access": ("تعذّر الوصول", "Could not access"),
    "far": ("بعيدة عن الموقع المُبلّغ", "Far from the reported place"),
}  # fmt: skip
COLUMNS = ("received", "resolved", "responded", "response_rate", "median_first_response_h",
           "median_resolution_h", "breaches", "csat", "average_score", "survey_response_rate",
           "reopen_rate")  # fmt: skip
#: The inbox's colours and type, for mail clients that read a <style> block.
STYLE = (
    "body{font-family:'Noto Naskh Arabic','Noto Sans Arabic','Segoe UI',Tahoma,sans-serif;"
    "color:#1d2327;background:#f6f7f8;margin:0;padding:1rem;line-height:1.5}"
    "section{background:#fff;border:1px solid #d9dee2;border-radius:6px;padding:.8rem 1rem;"
    "margin-block-end:1rem}h1{font-size:1.3rem;color:#0b6e4f}h2{font-size:1rem}"
    "table{border-collapse:collapse;inline-size:100%}th,td{padding:.35rem .5rem;"
    "border-block-end:1px solid #d9dee2;text-align:start}th{color:#5f6b73;font-weight:normal}"
    "td.n{font-variant-numeric:tabular-nums}"
)


def word(key: str, language: str) -> str:
    """The report's word for ``key`` in ``language``."""
    pair = WORDS[key]
    return pair[0] if language == "ar" else pair[1]


def name_of(line: ReportLine, language: str, departments: Mapping[str, tuple[str, str]]) -> str:
    """A line's department, channel or field-visit outcome by name."""
    table = {"department": departments, "field": VISITS}.get(line.group, CHANNELS)
    pair = table.get(line.name) or (WORDS["unassigned"] if line.name == "unassigned" else None)
    return (pair[0] if language == "ar" else pair[1]) if pair else line.name


def cells(line: ReportLine) -> list[str]:
    """A line's figures as text (empty where there is none)."""

    def number(value: float | None) -> str:
        return "" if value is None else f"{value:g}"

    rate = line.response_rate
    return [
        str(line.received), str(line.resolved), str(line.responded),
        "" if rate is None else f"{100 * rate:.1f}",
        number(line.median_first_response_h), number(line.median_resolution_h),
        str(line.breaches), number(line.csat), number(line.average_score),
        number(line.survey_response_rate), number(line.reopen_rate),
    ]  # fmt: skip


def render_csv(lines: list[ReportLine], departments: Mapping[str, tuple[str, str]]) -> str:
    """The report as CSV: headers and names in Arabic and English."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow([f"{WORDS[k][1]} / {WORDS[k][0]}" for k in ("group", "name", *COLUMNS)])
    for line in lines:
        group = f"{word(line.group, 'en')} / {word(line.group, 'ar')}"
        name = f"{name_of(line, 'en', departments)} / {name_of(line, 'ar', departments)}"
        writer.writerow([group, name, *cells(line)])
    return "\ufeff" + buffer.getvalue()  # spreadsheet programs then read the Arabic right


def _bars(
    lines: list[ReportLine], language: str, departments: Mapping[str, tuple[str, str]]
) -> str:
    rows = [line for line in lines if line.group == "department"]
    if not rows:
        return ""
    top = max(max(line.received, line.resolved) for line in rows) or 1
    parts = []
    for index, line in enumerate(rows):
        y = 10 + index * 26
        received_w, resolved_w = 300 * line.received / top, 300 * line.resolved / top
        label = escape(name_of(line, language, departments))
        parts.append(
            f'<text x="0" y="{y + 12}" font-size="12">{label}</text>'
            f'<rect x="170" y="{y}" width="{received_w:.0f}" height="10" fill="#1f77b4">'
            f"<title>{escape(word('received', language))} {line.received}</title></rect>"
            f'<rect x="170" y="{y + 11}" width="{resolved_w:.0f}" height="10" fill="#2ca02c">'
            f"<title>{escape(word('resolved', language))} {line.resolved}</title></rect>"
        )
    height = 20 + 26 * len(rows)
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="500" height="{height}" role="img" '
        f'direction="ltr" aria-label="{escape(word("chart", language))}">{"".join(parts)}</svg>'
    )


def _table(
    group: str, lines: list[ReportLine], language: str, departments: Mapping[str, tuple[str, str]]
) -> str:
    rows = [line for line in lines if line.group == group]
    if not rows:
        return ""
    # A field line counts visits that ended one way: its one figure is ``received``.
    columns = ("count",) if group == "field" else COLUMNS
    head = "".join(f"<th>{escape(word(k, language))}</th>" for k in ("name", *columns))
    body = "".join(
        f"<tr><td>{escape(name_of(line, language, departments))}</td>"
        + "".join(
            f'<td class="n">{escape(c)}</td>'
            for c in ([str(line.received)] if group == "field" else cells(line))
        )
        + "</tr>"
        for line in rows
    )
    title = escape(word(f"by_{group}", language))
    return f"<h2>{title}</h2><table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _section(
    lines: list[ReportLine], day: date, language: str, departments: Mapping[str, tuple[str, str]]
) -> str:
    direction = "rtl" if language == "ar" else "ltr"
    content = (
        _bars(lines, language, departments)
        + _table("department", lines, language, departments)
        + _table("channel", lines, language, departments)
        + _table("field", lines, language, departments)
    ) or f"<p>{escape(word('nothing', language))}</p>"
    return (
        f'<section lang="{language}" dir="{direction}">'
        f"<h1>{escape(word('title', language))} — {day.isoformat()}</h1>{content}</section>"
    )


def render_html(
    lines: list[ReportLine], *, day: date, departments: Mapping[str, tuple[str, str]]
) -> str:
    """The report as one self-contained page: Arabic, then English (no script, no loads)."""
    return (
        '<!doctype html><html lang="ar"><head><meta charset="utf-8">'
        f"<title>qanat — {escape(word('title', 'ar'))} / {escape(word('title', 'en'))} "
        f"{day.isoformat()}</title><style>{STYLE}</style></head><body>"
        + _section(lines, day, "ar", departments)
        + _section(lines, day, "en", departments)
        + "</body></html>"
    )
