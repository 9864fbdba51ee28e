"""The nightly job on the demo: a ledger that adds up for every channel, and a report."""

from __future__ import annotations

import csv
import io
import json
import sqlite3
from pathlib import Path

from typer.testing import CliRunner

from qanat.cli.demo_national import NATIONAL_REQUESTS
from qanat.cli.main import app


def test_reconcile_on_the_demo_keeps_a_ledger_and_the_report_follows(tmp_path: Path) -> None:
    runner = CliRunner()
    made = runner.invoke(
        app, ["demo", "--no-serve", "--folder", str(tmp_path)], env={"QANAT_DATABASE_URL": None}
    )
    assert made.exit_code == 0, made.stderr
    env = {"QANAT_DATABASE_URL": f"sqlite:///{tmp_path / 'qanat.db'}"}
    night = runner.invoke(app, ["reconcile", "--since", "2020-01-01", "--json"], env=env)
    assert night.exit_code == 0, night.stderr
    ledger = json.loads(night.stdout)
    channels = {row["channel"] for row in ledger["ledger"]}
    assert ledger["ok"] and ledger["failed_steps"] == {}
    assert channels >= {"x", "telegram", "email", "sms", "call_centre", "web", "app", "majlis"}
    # Every demo message, and the requests pulled from the demo's national system.
    assert sum(row["stored_count"] for row in ledger["ledger"]) == 242 + len(NATIONAL_REQUESTS)
    assert all(row["status"] == "ok" and row["errors"] == [] for row in ledger["ledger"])
    with sqlite3.connect(tmp_path / "qanat.db") as kept:
        runs = kept.execute("SELECT status, COUNT(*) FROM reconcile_run GROUP BY status").fetchall()
    assert runs == [("ok", len(ledger["ledger"]))]
    report = runner.invoke(app, ["report", "daily", "--date", "2026-11-02"], env=env)
    assert report.exit_code == 0, report.stderr
    rows = list(csv.DictReader(io.StringIO(report.stdout)))
    assert {r["group"] for r in rows} == {"department", "channel"}
    assert sum(int(r["received"]) for r in rows if r["group"] == "channel") > 0
