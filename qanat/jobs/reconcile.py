"""The nightly reconciliation: prove nothing was lost, recover what was, and keep a ledger.

For each channel account: compare what the source lists with what the store holds and
ingest what is missing (through the normal save-raw-first intake); re-queue messages
stuck in ``received``; retry dead letters whose cause may have been transient; sweep
for duplicates concurrent processing missed; escalate SLA breaches; check that every
message is accounted for; and write one ``reconcile_run`` row per channel account
(:mod:`qanat.jobs.ledger`). A step that fails is recorded and the others still run; a
mismatch or a failed step alerts the admins (:mod:`qanat.jobs.alerts`).
"""

from __future__ import annotations

import logging
import re
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from datetime import datetime, timedelta
from typing import Protocol

from sqlalchemy import func
from sqlalchemy import select as sql_select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from qanat.jobs.deps import JobDeps
from qanat.jobs.ledger import ChannelLedger, ReconcileReport, write_ledger
from qanat.jobs.upstream_check import check_upstream_updates
from qanat.model import OPEN_STATUSES, Direction, Inbound, ProcessingState
from qanat.outbound.upstream import upstream_accounts
from qanat.store import queries
from qanat.store.tables import Event, Message, Ticket, utcnow

log = logging.getLogger(__name__)

#: How long a message may sit in `received` before the nightly job re-queues it.
STUCK_GRACE = timedelta(minutes=15)

#: Dead-letter reasons that may have been passing faults (worth one retry).
TRANSIENT = re.compile(
    r"OperationalError|InterfaceError|ConnectionError|TimeoutError|ChannelUnavailable|"
    r"ConnectionRefused|deadlock|could not serialize|database is locked",
    re.IGNORECASE,
)

#: Rows checked per ``IN (...)`` query when comparing a source's ids with the store.
ID_BATCH = 500


class SourceLister(Protocol):
    """A connector account that can list what its source holds (IMAP, X mentions, …)."""

    channel: str
    account: str

    async def list_since(self, since: datetime) -> list[str]:
        """External ids the source holds since ``since``."""
        ...

    def fetch(self, external_ids: Sequence[str]) -> AsyncIterator[Inbound]:
        """The messages with these ids, as the connector would have received them."""
        ...


#: Told each step's name, number and the number of steps, as the step begins.
Step = Callable[[str, int, int], None]
Work = Callable[[], Awaitable[None]]


async def reconcile(
    deps: JobDeps,
    *,
    since: datetime,
    until: datetime | None = None,
    sources: Sequence[SourceLister] = (),
    channel: str | None = None,
    step: Step | None = None,
    grace: timedelta = STUCK_GRACE,
) -> ReconcileReport:
    """Run every step for messages qanat stored in ``[since, until)`` (by when it stored
    them, not the date the sender wrote on them), write the ledger, and
    alert the admins when something didn't add up or a step failed."""
    from qanat.jobs.alerts import raise_alerts

    report = ReconcileReport(since=since, until=until or utcnow())
    steps = _steps(deps, report, sources, channel, grace)
    for number, (name, work) in enumerate(steps, start=1):
        if step is not None:
            step(name, number, len(steps) + 1)
        await _guarded(report, name, work)
    if step is not None:
        step("ledger", len(steps) + 1, len(steps) + 1)
    report.mark_failed_steps()
    await _guarded(report, "ledger", lambda: write_ledger(deps, report))
    if not report.ok:
        log.error("reconciliation found mismatches", extra={"runs": report.run_ids})
        await raise_alerts(deps, report)
    return report


def _steps(
    deps: JobDeps,
    report: ReconcileReport,
    sources: Sequence[SourceLister],
    channel: str | None,
    grace: timedelta,
) -> list[tuple[str, Work]]:
    def gap_check(source: SourceLister) -> Work:
        return lambda: _gap_check(deps, report, source)

    listed = [s for s in sources if channel is None or s.channel == channel]
    return [
        *((f"gap check {s.channel}/{s.account}", gap_check(s)) for s in listed),
        ("stuck messages", lambda: _requeue_stuck(deps, report, channel, grace)),
        ("dead letters", lambda: _retry_transient_dead_letters(deps, report, channel)),
        ("duplicate sweep", lambda: _sweep_duplicates(deps, report)),
        ("SLA", lambda: _escalate_breaches(deps, report)),
        # Only where an upstream Open311 system is configured.
        *(
            [("upstream updates", lambda: check_upstream_updates(deps, report))]
            if upstream_accounts(deps.accounts)
            else []
        ),
        ("integrity", lambda: _check_integrity(deps, report, channel)),
    ]


async def _guarded(report: ReconcileReport, name: str, work: Work) -> None:
    # One broken step (the store gone mid-night, a bug) must not hide the others.
    try:
        await work()
    except Exception as exc:
        log.exception("reconciliation step %r failed", name)
        report.failed_steps[name] = f"{type(exc).__name__}: {exc}"


async def _gap_check(deps: JobDeps, report: ReconcileReport, source: SourceLister) -> None:
    line = report.ledger(source.channel, source.account)
    try:
        listed = await source.list_since(report.since)
    except Exception as exc:  # the source is down: say so, don't stop the night
        line.errors.append(f"cannot list the source: {type(exc).__name__}: {exc}")
        return
    line.source_count = len(listed)
    async with deps.db.session() as session:
        stored = await _stored_ids(session, source.channel, source.account, listed)
    missing = [external_id for external_id in listed if external_id not in stored]
    if missing:
        async for inbound in source.fetch(missing):
            await deps.intake.save(inbound)
    async with deps.db.session() as session:
        still = set(listed) - await _stored_ids(session, source.channel, source.account, listed)
    # Counted from the store: a connector that re-scans its source (IMAP) saves by itself.
    line.backfilled = len(set(missing) - still)
    if still:
        line.errors.append(f"{len(still)} listed by the source but not stored: {sorted(still)[:5]}")


async def _stored_ids(
    session: AsyncSession, channel: str, account: str, external_ids: Sequence[str]
) -> set[str]:
    found: set[str] = set()
    for start in range(0, len(external_ids), ID_BATCH):
        rows = await session.execute(
            select(Message.external_id).where(
                col(Message.channel) == channel,
                col(Message.account) == account,
                col(Message.external_id).in_(external_ids[start : start + ID_BATCH]),
            )
        )
        found.update(rows.scalars())
    return found


async def _requeue_stuck(
    deps: JobDeps, report: ReconcileReport, channel: str | None, grace: timedelta
) -> None:
    cutoff = utcnow() - grace
    statement = select(Message.id, Message.channel, Message.account, Message.attempts).where(
        col(Message.state) == ProcessingState.received, col(Message.created_at) < cutoff
    )
    if channel:
        statement = statement.where(col(Message.channel) == channel)
    async with deps.db.session() as session:
        stuck = (await session.execute(statement)).all()
    night = int(report.until.timestamp())
    for message_id, message_channel, account, _attempts in stuck:
        line = report.ledger(message_channel, account)
        # A job id of its own: the original job id may still be held by arq.
        if await _requeue(deps, line, message_id, night):
            line.reprocessed += 1


async def _requeue(deps: JobDeps, line: ChannelLedger, message_id: int, night: int) -> bool:
    try:
        await deps.queue.enqueue_processing(message_id, attempt=night)
    except Exception as exc:  # the queue is down: the next night tries again
        line.errors.append(f"message {message_id} could not be queued: {type(exc).__name__}")
        return False
    return True


async def _retry_transient_dead_letters(
    deps: JobDeps, report: ReconcileReport, channel: str | None
) -> None:
    retried: list[tuple[int, str, str]] = []
    async with deps.db.writing() as session:
        statement = select(Message).where(col(Message.state) == ProcessingState.dead_letter)
        if channel:
            statement = statement.where(col(Message.channel) == channel)
        for message in (await session.execute(statement)).scalars():
            line = report.ledger(message.channel, message.account)
            line.dead_lettered += 1
            if not TRANSIENT.search(message.state_reason or ""):
                continue
            if await _already_retried(session, message.id or 0):
                continue
            message.state, message.attempts = ProcessingState.received, 0
            await queries.add_event(
                session,
                actor="reconcile",
                type="dead_letter_retried",
                message_id=message.id,
                data={"reason": message.state_reason},
            )
            retried.append((message.id or 0, message.channel, message.account))
            line.reprocessed += 1
    night = int(report.until.timestamp())
    for message_id, message_channel, account in retried:
        await _requeue(deps, report.ledger(message_channel, account), message_id, night)


async def _already_retried(session: AsyncSession, message_id: int) -> bool:
    statement = select(func.count()).where(
        col(Event.message_id) == message_id, col(Event.type) == "dead_letter_retried"
    )
    return bool((await session.execute(statement)).scalar_one())


async def _sweep_duplicates(deps: JobDeps, report: ReconcileReport) -> None:
    """Link duplicates that concurrent processing missed (dedupe's sweep)."""
    from qanat.dedupe.pair_model import PairModelFile
    from qanat.dedupe.service import sweep

    async with deps.db.writing() as session:
        model = PairModelFile(deps.settings.dedupe_model_file).current()
        linked = await sweep(session, since=report.since, rules=deps.rules().dedupe, model=model)
        for duplicate, _primary in linked:
            row = (
                await session.execute(
                    select(Ticket.channel).where(col(Ticket.reference) == duplicate)
                )
            ).scalar_one()
            channel_of = next(
                (line for line in report.ledgers.values() if line.channel == row), None
            )
            (channel_of or report.ledger(row, "default")).late_duplicates += 1


async def _escalate_breaches(deps: JobDeps, report: ReconcileReport) -> None:
    """List the tickets past their due time, and escalate those not escalated yet (the
    same check the workers run every few minutes, so nothing is announced twice)."""
    from qanat.jobs.sla_watch import check_sla
    from qanat.store.views import department_codes

    now = utcnow()
    await check_sla(deps, now=now)
    async with deps.db.session() as session:
        departments = await department_codes(session)
        overdue = select(Ticket.department_id, Ticket.reference).where(
            # A pending ticket's clock is stopped while it waits on the citizen.
            col(Ticket.status).in_([s.value for s in OPEN_STATUSES if s != "pending"]),
            col(Ticket.primary_ticket_id).is_(None),
            col(Ticket.sla_due_at) < now,
        )
        for department_id, reference in await session.execute(overdue):
            department = departments.get(department_id or -1, "unassigned")
            report.breaches.setdefault(department, []).append(reference)


async def _check_integrity(deps: JobDeps, report: ReconcileReport, channel: str | None) -> None:
    # By when qanat stored a message (a sender's Date header may say anything), up to
    # now: what this run backfilled from the sources was stored after the window's end.
    stored_until = max(report.until, utcnow())
    statement = (
        sql_select(
            col(Message.channel),
            col(Message.account),
            col(Message.state),
            col(Message.ticket_id).is_(None),
            col(Message.state_reason).is_(None),
            func.count(),
        )
        .where(
            col(Message.direction) == Direction.inbound,
            col(Message.created_at) >= report.since,
            col(Message.created_at) < stored_until,
        )
        .group_by(
            Message.channel,
            Message.account,
            Message.state,
            col(Message.ticket_id).is_(None),
            col(Message.state_reason).is_(None),
        )
    )
    if channel:
        statement = statement.where(col(Message.channel) == channel)
    async with deps.db.session() as session:
        rows = (await session.execute(statement)).all()
        orphans = await _tickets_without_department(session)
    problems: Counter[tuple[str, str, str]] = Counter()
    for message_channel, account, state, no_ticket, no_reason, count in rows:
        line = report.ledger(message_channel, account)
        line.stored_count += count
        if state == ProcessingState.processed and no_ticket:
            problems[(message_channel, account, "processed without a ticket")] += count
        elif state == ProcessingState.dead_letter and no_reason:
            problems[(message_channel, account, "dead letter without a reason")] += count
        elif state == ProcessingState.received:
            problems[(message_channel, account, "still waiting to be processed")] += count
    for (message_channel, account, problem), count in problems.items():
        report.ledger(message_channel, account).errors.append(f"{count} {problem}")
    for ticket_channel, reference in orphans:
        for line in report.ledgers.values():
            if line.channel == ticket_channel:
                line.errors.append(f"ticket {reference} has no department")
                break


async def _tickets_without_department(session: AsyncSession) -> list[tuple[str, str]]:
    rows = await session.execute(
        select(Ticket.channel, Ticket.reference).where(
            col(Ticket.department_id).is_(None), col(Ticket.primary_ticket_id).is_(None)
        )
    )
    return [(channel, reference) for channel, reference in rows]
