"""A mismatch or a failed step alerts the admins by mail and shows in ``/metrics``;
the daily report goes to the supervisors."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime
from email.message import EmailMessage
from pathlib import Path

import pytest
from sqlalchemy import select, update

from qanat.ingest.interchange import import_file
from qanat.jobs import reconcile as reconcile_module
from qanat.jobs.alerts import ALERT_EVENT
from qanat.jobs.reconcile import reconcile
from qanat.jobs.reports import email_daily_report
from qanat.runtime import Runtime
from qanat.store.tables import Event, Message, ReconcileRun
from tests.outbound.test_staff_mail import add_people, configure_mail
from tests.support.mail_server import OutsideWorld, mail_server
from tests.web.test_metrics import scrape

SINCE = datetime(2026, 11, 1, tzinfo=UTC)
IMPORTS = Path(__file__).parents[1] / "fixtures" / "import"


async def add_staff(runtime: Runtime) -> None:
    await add_people(
        runtime,
        [
            ("amina", "admin", "amina@works.example", True),
            ("badr", "admin", None, True),
            ("dana", "supervisor", "dana@works.example", True),
            ("eisa", "agent", "eisa@works.example", True),
        ],
    )


@pytest.fixture
async def relay(runtime: Runtime) -> AsyncIterator[OutsideWorld]:
    await add_staff(runtime)
    await import_file(runtime.intake, IMPORTS / "sewage_block_305.jsonl")
    async with mail_server() as (world, port):
        configure_mail(runtime, port)
        yield world


async def alert_events(runtime: Runtime) -> list[dict[str, object]]:
    async with runtime.db.session() as session:
        rows = await session.execute(select(Event.data).where(Event.type == ALERT_EVENT))  # type: ignore[arg-type]
        return list(rows.scalars())


def alert_mails(relay: OutsideWorld) -> list[tuple[list[str], EmailMessage]]:
    """The reconciliation alerts the relay received (recipients, message); the night's SLA
    escalations to departments are other mail."""
    return [
        (rcpt_to, message)
        for (_, rcpt_to, _), message in zip(relay.received, relay.messages(), strict=True)
        if "reconciliation alert" in str(message["Subject"])
    ]


async def test_a_clean_night_alerts_nobody(runtime: Runtime, relay: OutsideWorld) -> None:
    report = await reconcile(runtime, since=SINCE)
    assert report.ok and alert_mails(relay) == [] and await alert_events(runtime) == []
    alerts = (await scrape(runtime))["qanat_reconcile_alerts_total"]
    assert alerts == {(("kind", "mismatch"),): 0, (("kind", "step_failed"),): 0}


async def test_a_mismatch_mails_the_admins_and_counts_in_the_metrics(
    runtime: Runtime, relay: OutsideWorld
) -> None:
    async with runtime.db.writing() as session:  # as if a worker had lost a ticket link
        await session.execute(
            update(Message).where(Message.channel == "sms").values(ticket_id=None)  # type: ignore[arg-type]
        )
    report = await reconcile(runtime, since=SINCE)
    assert not report.ok
    [(rcpt_to, mail)] = alert_mails(relay)
    assert rcpt_to == ["amina@works.example"]  # admins with an address; not the supervisor
    assert "reconciliation alert (mismatch)" in mail["Subject"]
    body = mail.get_content()
    assert "sms/default: mismatch" in body and "1 processed without a ticket" in body
    assert "/admin/ledger" in body
    [event] = await alert_events(runtime)
    assert event["kind"] == "mismatch" and event["mail_queued_for"] == 1
    assert event["runs"] == report.run_ids
    await reconcile(runtime, since=SINCE)  # the next night still finds it
    alerts = (await scrape(runtime))["qanat_reconcile_alerts_total"]
    assert alerts[(("kind", "mismatch"),)] == 2 and alerts[(("kind", "step_failed"),)] == 0


async def test_a_failed_step_is_kept_in_the_ledger_and_alerted_and_the_rest_still_run(
    runtime: Runtime, relay: OutsideWorld, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def broken(*_args: object) -> None:
        raise RuntimeError("sweep exploded")

    monkeypatch.setattr(reconcile_module, "_sweep_duplicates", broken)
    steps: list[tuple[str, int, int]] = []
    report = await reconcile(runtime, since=SINCE, step=lambda *shown: steps.append(shown))
    assert report.failed_steps == {"duplicate sweep": "RuntimeError: sweep exploded"}
    assert [name for name, _, _ in steps] == [
        "stuck messages",
        "dead letters",
        "duplicate sweep",
        "SLA",
        "integrity",
        "ledger",
    ]
    assert [(number, total) for _, number, total in steps] == [(n, 6) for n in range(1, 7)]
    async with runtime.db.session() as session:
        runs = list((await session.execute(select(ReconcileRun))).scalars())
    assert runs and {run.status for run in runs} == {"failed"}
    assert all(run.stored_count >= 1 for run in runs)  # integrity ran after the failure
    assert all(
        "step duplicate sweep failed: RuntimeError: sweep exploded" in r.errors for r in runs
    )
    [(_, mail)] = alert_mails(relay)
    assert "(step failed)" in mail["Subject"]
    assert "step duplicate sweep failed" in mail.get_content()
    alerts = (await scrape(runtime))["qanat_reconcile_alerts_total"]
    assert alerts[(("kind", "step_failed"),)] == 1


async def test_an_alert_whose_mail_cannot_go_is_still_kept(
    runtime: Runtime, caplog: pytest.LogCaptureFixture
) -> None:
    await add_staff(runtime)
    configure_mail(runtime, port=1)  # nothing listens there
    async with runtime.db.writing() as session:
        session.add(ReconcileRun(channel="sms", account="default"))  # keeps the ids apart
    await import_file(runtime.intake, IMPORTS / "sewage_block_305.jsonl")
    async with runtime.db.writing() as session:
        await session.execute(update(Message).values(ticket_id=None))
    with caplog.at_level(logging.INFO, logger="qanat.outbound.staff_mail"):
        report = await reconcile(runtime, since=SINCE)
    [event] = await alert_events(runtime)
    assert not report.ok and event["mail_queued_for"] == 1
    # The mail job tried as often as it may, then said so; the alert stays in the inbox.
    tries = runtime.settings.send_attempts
    assert [n for n in range(1, tries + 1) if f"try {n} failed" in caplog.text] == list(
        range(1, tries)
    )
    assert f"not sent after {tries} tries" in caplog.text


async def test_the_daily_report_goes_to_the_supervisors(
    runtime: Runtime, relay: OutsideWorld
) -> None:
    mailed = await email_daily_report(runtime, date(2026, 11, 2))
    [(_, rcpt_to, _)] = relay.received
    [mail] = relay.messages()
    assert mailed == 1 and rcpt_to == ["dana@works.example"]
    assert mail["Subject"] == "qanat: التقرير اليومي / daily report 2026-11-02"
    text = mail.get_body(preferencelist=("plain",))
    page = mail.get_body(preferencelist=("html",))
    assert text is not None
    assert "Department / القسم,Sewage and drainage / الصرف الصحي,1," in str(text.get_content())
    assert page is not None and "<h1>Daily report — 2026-11-02</h1>" in str(page.get_content())
    assert "<h1>التقرير اليومي — 2026-11-02</h1>" in str(page.get_content())


async def test_without_mail_the_daily_report_is_not_sent(runtime: Runtime) -> None:
    await add_staff(runtime)
    assert await email_daily_report(runtime, date(2026, 11, 2)) == 0


def test_staff_added_with_an_address_are_written_to(database_url: str) -> None:
    import asyncio

    from typer.testing import CliRunner

    from qanat.cli.main import app
    from qanat.config import load_settings
    from qanat.outbound.staff_mail import staff_addresses
    from qanat.runtime import start_runtime, stop_runtime

    runner = CliRunner()
    env = {"QANAT_DATABASE_URL": database_url}
    added = runner.invoke(
        app,
        [
            *("user", "add", "amina", "--role", "admin"),
            *("--email", "amina@works.example", "--password", "long-enough-pass"),
        ],
        env=env,
    )
    assert added.exit_code == 0, added.stderr

    async def admins() -> list[str]:
        runtime = await start_runtime(load_settings(database_url=database_url))
        try:
            return await staff_addresses(runtime.db, "admin")
        finally:
            await stop_runtime(runtime)

    assert asyncio.run(admins()) == ["amina@works.example"]
