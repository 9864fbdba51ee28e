"""The nightly reconciliation: gap check, stuck work, dead letters, SLA, integrity, ledger."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import select, update
from typer.testing import CliRunner

from qanat.cli.main import app
from qanat.jobs.reconcile import reconcile
from qanat.model import Inbound, Sender
from qanat.runtime import Runtime
from qanat.store import queries
from qanat.store.tables import Event, Message, ReconcileRun, Ticket

SINCE = datetime(2026, 11, 1, tzinfo=UTC)
IMPORTS = Path(__file__).parents[1] / "fixtures" / "import"


def sms(external_id: str, text: str = "حفرة في طريق 12 مجمع 338") -> Inbound:
    return Inbound(
        channel="sms",
        external_id=external_id,
        received_at=datetime(2026, 11, 2, 5, 0, tzinfo=UTC),
        sender=Sender(handle="+97333123456", phone="+97333123456"),
        text=text,
    )


class FakeGateway:
    """A source that lists three messages, one of which qanat never received."""

    channel = "sms"
    account = "default"

    def __init__(self, held: list[Inbound]) -> None:
        self.held = {m.external_id: m for m in held}
        self.fetched: list[str] = []

    async def list_since(self, since: datetime) -> list[str]:
        return list(self.held)

    async def fetch(self, external_ids: Sequence[str]) -> AsyncIterator[Inbound]:
        for external_id in external_ids:
            self.fetched.append(external_id)
            yield self.held[external_id]


async def save_raw_only(runtime: Runtime, inbound: Inbound, **values: object) -> int:
    """Store a message the way a crash would leave it: saved, never processed."""
    async with runtime.db.writing() as session:
        message_id, _ = await queries.save_message(session, inbound=inbound)
        await session.execute(
            update(Message)
            .where(Message.id == message_id)  # type: ignore[arg-type]
            .values(created_at=datetime(2026, 11, 2, tzinfo=UTC), **values)
        )
    return message_id


async def test_the_gap_check_ingests_what_the_source_has_and_we_lack(runtime: Runtime) -> None:
    held = [sms("SM1"), sms("SM2", "عمود انارة طايح"), sms("SM3", "زبالة في مجمع 410")]
    await runtime.intake.save(held[0])
    await runtime.intake.save(held[2])
    gateway = FakeGateway(held)
    report = await reconcile(runtime, since=SINCE, sources=[gateway])
    line = report.ledger("sms", "default")
    assert gateway.fetched == ["SM2"]
    assert (line.source_count, line.backfilled, line.stored_count) == (3, 1, 3)
    assert report.ok and line.errors == []
    async with runtime.db.session() as session:
        runs = (await session.execute(select(ReconcileRun))).scalars().all()
        states = (await session.execute(select(Message.state))).scalars().all()
    assert [(r.channel, r.status, r.backfilled, r.source_count) for r in runs] == [
        ("sms", "ok", 1, 3)
    ]
    assert states == ["processed"] * 3


async def test_stuck_messages_are_processed_again(runtime: Runtime) -> None:
    message_id = await save_raw_only(runtime, sms("SM1"))
    report = await reconcile(runtime, since=SINCE)
    async with runtime.db.session() as session:
        message = await session.get(Message, message_id)
    assert message is not None and message.state == "processed" and message.ticket_id
    assert report.ledger("sms", "default").reprocessed == 1 and report.ok


async def test_transient_dead_letters_are_retried_once(runtime: Runtime) -> None:
    transient = await save_raw_only(
        runtime,
        sms("SM1"),
        state="dead_letter",
        state_reason="OperationalError: could not connect to server",
        attempts=3,
    )
    permanent = await save_raw_only(
        runtime, sms("SM2"), state="dead_letter", state_reason="ValueError: bad text", attempts=3
    )
    first = await reconcile(runtime, since=SINCE)
    async with runtime.db.session() as session:
        states = {m.id: m.state for m in (await session.execute(select(Message))).scalars().all()}
    assert states == {transient: "processed", permanent: "dead_letter"}
    assert first.ledger("sms", "default").reprocessed == 1
    # Back to dead letter by hand: a second night does not retry it again.
    async with runtime.db.writing() as session:
        await session.execute(
            update(Message)
            .where(Message.id == transient)
            .values(  # type: ignore[arg-type]
                state="dead_letter", state_reason="OperationalError: again"
            )
        )
    second = await reconcile(runtime, since=SINCE)
    assert second.ledger("sms", "default").reprocessed == 0


async def test_overdue_tickets_are_escalated_once(runtime: Runtime) -> None:
    await runtime.intake.save(sms("SM1", "طفح مجاري في مجمع 305"))
    async with runtime.db.writing() as session:
        await session.execute(
            update(Ticket).values(sla_due_at=datetime.now(UTC) - timedelta(hours=1))
        )
    first = await reconcile(runtime, since=SINCE)
    await reconcile(runtime, since=SINCE)
    async with runtime.db.session() as session:
        escalations = (
            (
                await session.execute(select(Event).where(Event.type == "sla_escalated"))  # type: ignore[arg-type]
            )
            .scalars()
            .all()
        )
    assert first.breaches == {"sewage": ["QN-2026-000001"]}
    # Each deadline once: the first response (long past too) and the resolution.
    assert sorted(e.data["clock"] for e in escalations) == ["first_response", "resolution"]
    assert {e.data["department"] for e in escalations} == {"sewage"}


async def test_a_processed_message_without_a_ticket_is_a_mismatch(runtime: Runtime) -> None:
    await save_raw_only(runtime, sms("SM1"), state="processed")
    report = await reconcile(runtime, since=SINCE)
    line = report.ledger("sms", "default")
    assert not report.ok and line.status == "mismatch"
    assert line.errors == ["1 processed without a ticket"]


def test_the_command_prints_the_ledger_and_fails_on_mismatch(database_url: str) -> None:
    env = {"QANAT_DATABASE_URL": database_url}
    runner = CliRunner()
    runner.invoke(app, ["import", str(IMPORTS / "sewage_block_305.jsonl")], env=env)
    result = runner.invoke(app, ["reconcile", "--since", "2026-11-01", "--json"], env=env)
    assert result.exit_code == 0, result.stderr
    ledger = json.loads(result.stdout)
    assert ledger["ok"] is True
    stored = {(row["channel"], row["stored_count"]) for row in ledger["ledger"]}
    assert stored == {("sms", 1), ("x", 1), ("email", 2), ("call_centre", 1), ("web", 1)}
    bad = runner.invoke(app, ["reconcile", "--since", "yesterday"], env=env)
    assert bad.exit_code == 2 and "not an ISO 8601 time" in bad.stderr


async def test_duplicates_missed_by_concurrent_processing_are_linked_late(
    runtime: Runtime,
) -> None:
    await runtime.intake.save(sms("SM1", "طفح مجاري في مجمع 305 طريق 45"))
    other = sms("SM2", "المجاري طافحة في مجمع ٣٠٥ طريق ٤٥").model_copy(
        update={"sender": Sender(handle="+97336001122", phone="+97336001122")}
    )
    await runtime.intake.save(other)
    async with runtime.db.writing() as session:  # as if two workers had raced
        await session.execute(update(Ticket).values(primary_ticket_id=None))
    report = await reconcile(runtime, since=SINCE)
    primary, duplicate = sorted((await _tickets(runtime)), key=lambda t: t.id or 0)
    assert duplicate.primary_ticket_id == primary.id
    assert report.ledger("sms", "default").late_duplicates == 1


async def _tickets(runtime: Runtime) -> list[Ticket]:
    async with runtime.db.session() as session:
        return list((await session.execute(select(Ticket))).scalars())


def test_the_command_shows_its_steps_plainly_off_a_terminal(database_url: str) -> None:
    env = {"QANAT_DATABASE_URL": database_url}
    runner = CliRunner()
    runner.invoke(app, ["import", str(IMPORTS / "sewage_block_305.jsonl")], env=env)
    plain = runner.invoke(app, ["reconcile", "--since", "2026-11-01", "--channel", "sms"], env=env)
    assert plain.exit_code == 0, plain.stderr
    assert plain.stderr.splitlines()[:6] == [
        "[1/6] stuck messages",
        "[2/6] dead letters",
        "[3/6] duplicate sweep",
        "[4/6] SLA",
        "[5/6] integrity",
        "[6/6] ledger",
    ]
    assert "sms/default: ok — source n/a, stored 1, backfilled 0" in plain.stderr
    assert "\x1b[" not in plain.stderr  # no colours or bars off a terminal
    quiet = runner.invoke(app, ["reconcile", "--since", "2026-11-01", "--json"], env=env)
    assert "[1/6]" not in quiet.stderr and json.loads(quiet.stdout)["failed_steps"] == {}


async def test_mail_dated_before_the_window_but_stored_in_it_is_in_the_ledger(
    runtime: Runtime,
) -> None:
    # The sender's clock (an email's Date header) says a day before the night's window:
    # qanat stored it inside the window, and that is what the ledger counts.
    backdated = Inbound(
        channel="email",
        external_id="<backdated@example.com>",
        received_at=datetime.now(UTC) - timedelta(days=2),
        sender=Sender(handle="citizen@example.com", email="citizen@example.com"),
        text="طفح مجاري في مجمع 305",
    )
    await runtime.intake.save(backdated)
    window = datetime.now(UTC) - timedelta(hours=25)
    report = await reconcile(runtime, since=window)
    assert report.ledger("email", "default").stored_count == 1
