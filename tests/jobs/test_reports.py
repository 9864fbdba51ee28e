"""The daily report: pure figures, and the command's CSV and HTML."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from typer.testing import CliRunner

from qanat.cli.main import app
from qanat.jobs.report_page import render_csv, render_html
from qanat.jobs.reports import TicketFacts, daily_lines, day_window

BAHRAIN = ZoneInfo("Asia/Bahrain")
IMPORTS = Path(__file__).parents[1] / "fixtures" / "import"


def at(hour: int, day: int = 2) -> datetime:
    return datetime(2026, 11, day, hour, tzinfo=BAHRAIN)


def test_figures_per_department_and_channel() -> None:
    start, end = day_window(date(2026, 11, 2), BAHRAIN)
    facts = [
        TicketFacts("sewage", "sms", at(8), at(9), at(12), at(20)),
        TicketFacts("sewage", "x", at(10), at(13), None, at(11)),  # due 11:00, open: a breach
        TicketFacts("sewage", "sms", at(11), None, None, at(22, day=3)),
        TicketFacts("roads", "email", at(9, day=1), at(10, day=1), at(15), at(12)),  # late
    ]
    lines = {(line.group, line.name): line for line in daily_lines(facts, start=start, end=end)}
    sewage = lines[("department", "sewage")]
    assert (sewage.received, sewage.resolved, sewage.responded, sewage.breaches) == (3, 1, 2, 1)
    assert sewage.response_rate == 2 / 3
    assert sewage.median_first_response_h == 2.0  # 1 h and 3 h
    assert sewage.median_resolution_h == 4.0
    roads = lines[("department", "roads")]
    assert (roads.received, roads.resolved, roads.breaches) == (0, 1, 1)
    assert roads.median_resolution_h == 30.0
    assert lines[("channel", "sms")].received == 2
    assert day_window(date(2026, 11, 2), BAHRAIN)[0].astimezone(UTC).hour == 21


def test_csv_has_a_header_and_a_row_per_line() -> None:
    start, end = day_window(date(2026, 11, 2), BAHRAIN)
    lines = daily_lines(
        [TicketFacts("parks", "web", at(8), None, None, None)], start=start, end=end
    )
    names = {"parks": ("الحدائق والتشجير", "Parks and trees")}
    text = render_csv(lines, names)
    rows = list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))
    assert rows[0][:3] == ["Group / المجموعة", "Name / الاسم", "Received / المستلمة"]
    assert rows[1][:2] == ["Department / القسم", "Parks and trees / الحدائق والتشجير"]
    assert rows[1][2:] == ["1", "0", "0", "0.0", "", "", "0", "", "", "", ""]
    assert rows[2][:2] == ["Channel / القناة", "Web form / الموقع"]
    page = render_html(lines, day=date(2026, 11, 2), departments=names)
    arabic, english = page.split("<section")[1:]
    assert 'lang="ar" dir="rtl"' in arabic and "التقرير اليومي — 2026-11-02" in arabic
    assert "الحدائق والتشجير" in arabic and "parks" not in arabic
    assert 'lang="en" dir="ltr"' in english and "Parks and trees" in english
    assert "median_first_response_h" not in page and "<style>" in page


def test_the_command_writes_csv_and_html(database_url: str, tmp_path: Path) -> None:
    env = {"QANAT_DATABASE_URL": database_url}
    runner = CliRunner()
    runner.invoke(app, ["import", str(IMPORTS / "sewage_block_305.jsonl")], env=env)
    csv_path, html_path = tmp_path / "r.csv", tmp_path / "r.html"
    result = runner.invoke(
        app,
        [
            "report",
            "daily",
            "--date",
            "2026-11-02",
            "--csv",
            str(csv_path),
            "--html",
            str(html_path),
        ],
        env=env,
    )
    assert result.exit_code == 0, result.stderr
    rows = list(csv.reader(io.StringIO(csv_path.read_text().lstrip("\ufeff"))))
    sewage = next(r for r in rows if r[1] == "Sewage and drainage / الصرف الصحي")
    assert sewage[2] == "1" and sewage[5] == "0.0"
    channels = {r[1]: r[2] for r in rows if r[0] == "Channel / القناة"}
    assert channels == {"Email / بريد إلكتروني": "1", "SMS / رسالة نصية": "1"}  # X: a duplicate
    page = html_path.read_text()
    assert "<svg" in page and "<script" not in page and "الصرف الصحي" in page
    bad = runner.invoke(app, ["report", "daily", "--date", "2 Nov"], env=env)
    assert bad.exit_code == 2 and "is not YYYY-MM-DD" in bad.stderr
