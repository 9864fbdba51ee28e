"""The daily report: pure figures, and the command's CSV and HTML."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from typer.testing import CliRunner

from qanat.cli.main import app
from qanat.jobs.reports import TicketFacts, daily_lines, day_window, render_csv

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
    text = render_csv(
        daily_lines([TicketFacts("parks", "web", at(8), None, None, None)], start=start, end=end)
    )
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0][:3] == ["group", "name", "received"]
    assert rows[1] == ["department", "parks", "1", "0", "0", "0.00", "", "", "0"]


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
    rows = list(csv.DictReader(io.StringIO(csv_path.read_text())))
    sewage = next(r for r in rows if r["group"] == "department" and r["name"] == "sewage")
    assert sewage["received"] == "1" and sewage["response_rate"] == "0.00"
    channels = {r["name"]: r["received"] for r in rows if r["group"] == "channel"}
    assert channels == {"email": "1", "sms": "1"}  # the X report is a duplicate of the SMS one
    page = html_path.read_text()
    assert "<svg" in page and "<script" not in page and "sewage" in page
    bad = runner.invoke(app, ["report", "daily", "--date", "2 Nov"], env=env)
    assert bad.exit_code == 2 and "is not YYYY-MM-DD" in bad.stderr
