"""Call records: contacts across channels, logged tickets, missed calls, idempotent import."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select
from typer.testing import CliRunner

from qanat.cli.main import app
from qanat.ingest.call_centre import import_cdr, missed_calls
from qanat.model import Inbound, Sender
from qanat.runtime import Runtime
from qanat.store.tables import CallRecord, ContactIdentity, Ticket

CDR = Path(__file__).parent.parent / "fixtures" / "call_centre" / "Master.csv"


async def test_calls_join_contacts_and_the_ticket_logged_for_them(runtime: Runtime) -> None:
    # The agent logged the first call as a complaint; the same citizen also sent an SMS.
    await runtime.intake.save(
        Inbound(
            channel="call_centre",
            external_id="CALL-1",
            received_at="2026-11-03T09:14:00+03:00",
            sender=Sender(handle="33445566", phone="33445566", name="Ali Hasan"),
            text="المتصل يبلغ عن طفح مجاري في مجمع 305 طريق 45",
        )
    )
    await runtime.intake.save(
        Inbound(
            channel="sms",
            external_id="SM-1",
            received_at="2026-11-03T15:00:00+03:00",
            sender=Sender(handle="+97333445566", phone="+97333445566"),
            text="أي جديد؟",
        )
    )
    report = await import_cdr(runtime.db, CDR, tz=runtime.settings.tz, region="BH")
    again = await import_cdr(runtime.db, CDR, tz=runtime.settings.tz, region="BH")
    assert (report.imported, report.missed, report.bad_rows) == (
        6,
        3,
        [(4, "5 columns, a CDR row has at least 16")],
    )
    assert (again.imported, again.already_known) == (0, 6)
    async with runtime.db.session() as session:
        calls = {c.call_id: c for c in (await session.execute(select(CallRecord))).scalars()}
        [ticket] = (await session.execute(select(Ticket))).scalars().all()
        owners = dict(
            (await session.execute(select(ContactIdentity.value, ContactIdentity.contact_id))).all()
        )
        waiting = await missed_calls(session)
    first = calls["1762150364.1042"]
    assert first.ticket_id == ticket.id and first.contact_id == ticket.contact_id
    assert first.contact_id == owners["+97333445566"]  # the caller who also sent the SMS
    assert first.billsec_s == 184 and first.started_at.isoformat() == "2026-11-03T06:12:44+00:00"
    assert calls["1762159200.1077"].caller_e164 == "+97339001122"
    # 39887766 missed at 09:20 but got through at 12:05: only two calls to return.
    assert [c.caller for c in waiting] == ["+97336554433", "36112244"]


def test_the_command_reports_bad_rows_by_line(database_url: str) -> None:
    result = CliRunner().invoke(
        app, ["import-calls", str(CDR)], env={"QANAT_DATABASE_URL": database_url}
    )
    assert result.exit_code == 1
    assert "Master.csv:4: 5 columns" in result.stderr
    assert "6 calls imported (3 missed, to call back)" in result.stderr
