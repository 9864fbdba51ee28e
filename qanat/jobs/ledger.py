"""The reconciliation ledger: what one night found per channel account, and its rows.

The nightly job (:mod:`qanat.jobs.reconcile`) fills a :class:`ReconcileReport`; this module
writes it as ``reconcile_run`` rows (kept forever) and gives it as plain rows for the
CLI, the API and the alert mail.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from qanat.jobs.deps import JobDeps
from qanat.store.tables import ReconcileRun, utcnow

#: Ledger line for a night whose failed step touched no channel account at all.
ALL_CHANNELS = ("*", "*")


@dataclass
class ChannelLedger:
    """What the night found for one channel account (becomes a ``reconcile_run`` row)."""

    channel: str
    account: str
    source_count: int | None = None
    stored_count: int = 0
    backfilled: int = 0
    reprocessed: int = 0
    dead_lettered: int = 0
    late_duplicates: int = 0
    errors: list[str] = field(default_factory=list)
    failed: bool = False

    @property
    def status(self) -> str:
        """``ok``; ``mismatch`` when something didn't add up; ``failed`` when a step broke."""
        if self.failed:
            return "failed"
        return "mismatch" if self.errors else "ok"


@dataclass
class ReconcileReport:
    """The night's result: ledger lines, SLA breaches per department, and the run ids."""

    since: datetime
    until: datetime
    ledgers: dict[tuple[str, str], ChannelLedger] = field(default_factory=dict)
    breaches: dict[str, list[str]] = field(default_factory=dict)
    run_ids: list[int] = field(default_factory=list)
    #: Step name → why it failed (the other steps still ran).
    failed_steps: dict[str, str] = field(default_factory=dict)

    def ledger(self, channel: str, account: str) -> ChannelLedger:
        """The ledger line of a channel account, created on first use."""
        key = (channel, account)
        if key not in self.ledgers:
            self.ledgers[key] = ChannelLedger(channel, account)
        return self.ledgers[key]

    @property
    def ok(self) -> bool:
        """True when every step ran and every channel account reconciled."""
        return not self.failed_steps and all(line.status == "ok" for line in self.ledgers.values())

    def mark_failed_steps(self) -> None:
        """Put each failed step on every ledger line, so the kept ledger tells of it."""
        if not self.failed_steps:
            return
        if not self.ledgers:
            self.ledger(*ALL_CHANNELS)
        for line in self.ledgers.values():
            line.failed = True
            line.errors += [f"step {name} failed: {why}" for name, why in self.failed_steps.items()]


async def write_ledger(deps: JobDeps, report: ReconcileReport) -> None:
    """One ``reconcile_run`` row per ledger line; their ids go into ``report.run_ids``."""
    async with deps.db.writing() as session:
        for line in report.ledgers.values():
            run = ReconcileRun(
                channel=line.channel,
                account=line.account,
                window_start=report.since,
                window_end=report.until,
                source_count=line.source_count,
                stored_count=line.stored_count,
                backfilled=line.backfilled,
                reprocessed=line.reprocessed,
                dead_lettered=line.dead_lettered,
                late_duplicates=line.late_duplicates,
                status=line.status,
                errors=line.errors,
                finished_at=utcnow(),
            )
            session.add(run)
            await session.flush()
            report.run_ids.append(run.id or 0)


def ledger_rows(report: ReconcileReport) -> list[dict[str, Any]]:
    """The ledger as plain rows (for the CLI, the API, CSV and alert mail)."""
    return [
        {
            "channel": line.channel,
            "account": line.account,
            "status": line.status,
            "source_count": line.source_count,
            "stored_count": line.stored_count,
            "backfilled": line.backfilled,
            "reprocessed": line.reprocessed,
            "dead_lettered": line.dead_lettered,
            "late_duplicates": line.late_duplicates,
            "errors": line.errors,
        }
        for line in sorted(report.ledgers.values(), key=lambda x: (x.channel, x.account))
    ]
