"""Alerts: a reconciliation that found a mismatch or had a step fail tells the admins.

Each alert is mailed to the active admins who gave an address (through
:func:`qanat.outbound.staff_mail.send_staff_mail`) and kept as a ``reconcile_alert``
event saying who was told (or why the mail could not go). ``/metrics`` counts the
nights that were not ok in the ledger as ``qanat_reconcile_alerts_total{kind}``, for
Prometheus to alert on.
"""

from __future__ import annotations

import logging
from typing import Any

from qanat.jobs.deps import JobDeps
from qanat.jobs.ledger import ReconcileReport
from qanat.outbound.staff_mail import queue_staff_mail, staff_addresses
from qanat.store import queries

log = logging.getLogger(__name__)

#: The event kept for each alert.
ALERT_EVENT = "reconcile_alert"


def alert_kind(report: ReconcileReport) -> str:
    """``step_failed`` when a step broke (worse: the night is incomplete), else ``mismatch``."""
    return "step_failed" if report.failed_steps else "mismatch"


def alert_mail(report: ReconcileReport) -> tuple[str, str]:
    """The subject and text of the admins' alert mail (Arabic first, then English)."""
    window = f"{report.since:%Y-%m-%d %H:%M} – {report.until:%Y-%m-%d %H:%M} UTC"
    subject = (
        "qanat: تنبيه التسوية الليلية / reconciliation alert"
        f" ({alert_kind(report).replace('_', ' ')})"
    )
    lines = [
        "لم تتطابق التسوية الليلية أو فشلت إحدى خطواتها. التفاصيل في سجل التسوية: /admin/ledger",
        "",
        f"The nightly reconciliation of {window} needs a look (ledger: /admin/ledger).",
    ]
    for name, why in report.failed_steps.items():
        lines.append(f"- step {name} failed: {why}")
    for line in sorted(report.ledgers.values(), key=lambda x: (x.channel, x.account)):
        if line.status == "ok":
            continue
        source = "n/a" if line.source_count is None else str(line.source_count)
        lines.append(
            f"- {line.channel}/{line.account}: {line.status} — at source {source}, stored "
            f"{line.stored_count}, backfilled {line.backfilled}, reprocessed {line.reprocessed}, "
            f"dead letters {line.dead_lettered}"
        )
        lines += [f"    {error}" for error in line.errors if not error.startswith("step ")]
    return subject, "\n".join(lines) + "\n"


async def raise_alerts(deps: JobDeps, report: ReconcileReport) -> dict[str, Any]:
    """Mail the admins and keep the alert; what was done (for logs and tests)."""
    subject, text = alert_mail(report)
    outcome: dict[str, Any] = {
        "kind": alert_kind(report),
        "runs": report.run_ids,
        "failed_steps": sorted(report.failed_steps),
        "mail_queued_for": 0,
    }
    try:
        recipients = await staff_addresses(deps.db, "admin")
        outcome["mail_queued_for"] = await queue_staff_mail(deps, recipients, subject, text)
    except Exception as exc:  # the queue (or the store) is down: keep the event
        log.exception("the reconciliation alert could not be mailed")
        outcome["mail_error"] = f"{type(exc).__name__}: {exc}"
    try:
        async with deps.db.writing() as session:
            await queries.add_event(session, actor="reconcile", type=ALERT_EVENT, data=outcome)
    except Exception:
        log.exception("the reconciliation alert could not be recorded")
    return outcome
