"""The nightly job on the demo: a ledger that adds up for every channel, and a report."""

from __future__ import annotations

import csv
import io
import json
import sqlite3
from datetime import date, timedelta
from pathlib import Path

from typer.testing import CliRunner

from qanat.cli.main import app


def test_reconcile_on_the_demo_keeps_a_ledger_and_the_report_follows(tmp_path: Path) -> None:
    runner = CliRunner()
    home = ["--home", str(tmp_path)]
    made = runner.invoke(app, [*home, "demo", "--no-serve"], env={"QANAT_DATABASE_URL": None})
    assert made.exit_code == 0, made.stderr
    env = {"QANAT_DATABASE_URL": None}
    night = runner.invoke(app, [*home, "reconcile", "--since", "2020-01-01", "--json"], env=env)
    assert night.exit_code == 0, night.stderr
    ledger = json.loads(night.stdout)
    channels = {row["channel"] for row in ledger["ledger"]}
    assert ledger["ok"] and ledger["failed_steps"] == {}
    assert channels >= {"x", "telegram", "email", "sms", "call_centre", "web", "app", "majlis"}
    assert all(row["status"] == "ok" and row["errors"] == [] for row in ledger["ledger"])
    with sqlite3.connect(tmp_path / "qanat.db") as kept:
        runs = kept.execute("SELECT status, COUNT(*) FROM reconcile_run GROUP BY status").fetchall()
        (citizens,) = kept.execute("SELECT COUNT(*) FROM message WHERE direction = 'in'").fetchone()
        (day,) = kept.execute("SELECT MIN(received_at) FROM message").fetchone()
    assert sum(row["stored_count"] for row in ledger["ledger"]) == citizens  # every one
    assert runs == [("ok", len(ledger["ledger"]))]
    first_day = date.fromisoformat(day[:10]) + timedelta(days=1)  # a whole day, any timezone
    report = runner.invoke(app, [*home, "report", "daily", "--date", str(first_day)], env=env)
    assert report.exit_code == 0, report.stderr
    rows = list(csv.DictReader(io.StringIO(report.stdout.lstrip("\ufeff"))))
    groups = {r["Group / المجموعة"] for r in rows}
    assert groups == {"Department / القسم", "Channel / القناة"}
    channels = [r for r in rows if r["Group / المجموعة"] == "Channel / القناة"]
    assert sum(int(r["Received / المستلمة"]) for r in channels) > 0
