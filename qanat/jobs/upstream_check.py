"""The nightly check of what federated tickets owe their upstream Open311 system.

The gap check (:mod:`qanat.jobs.reconcile`) already proves every upstream request of the
day is in qanat: the ``open311`` connector lists them. This step proves the other way:
every status change of a federated ticket was delivered upstream. It writes the update
rows any change still lacks, queues again every update not sent (failed ones get their
tries back; the upstream keeps each ``update_id`` once, so nothing arrives twice), and
puts on the account's ledger line what was re-queued and what is still not delivered —
failed again, or waiting since before the night's window.
"""

from __future__ import annotations

from collections import Counter

from qanat.jobs.deps import JobDeps
from qanat.jobs.ledger import ReconcileReport
from qanat.outbound.upstream import queue_status_updates, requeue_undelivered, upstream_accounts
from qanat.store import federation


async def check_upstream_updates(deps: JobDeps, report: ReconcileReport) -> None:
    """The night's step: owed updates written, undelivered ones queued again, the rest
    reported on the ``open311`` ledger line of each upstream account."""
    accounts = upstream_accounts(deps.accounts)
    if not accounts:
        return
    await queue_status_updates(deps, since=report.since)
    requeued = await requeue_undelivered(deps)
    async with deps.db.session() as session:
        waiting = await federation.undelivered_updates(session)
    late = Counter(
        row.account
        for row in waiting
        if row.state == federation.FAILED or row.created_at < report.since
    )
    for account in accounts:
        line = report.ledger(federation.CHANNEL, account)
        line.reprocessed += len(requeued.get(account, []))
        if late[account]:
            line.errors.append(f"{late[account]} status updates not delivered upstream yet")
