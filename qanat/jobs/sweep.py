"""The sweeper: queue again whatever was saved but is still waiting, every minute.

A message is committed before it is queued, so a queue that was down, a process killed
between the two, or a job that gave up while the store was away leaves it ``received``;
a reply whose enqueue failed stays ``queued``. After a short grace
(``QANAT_SWEEP_GRACE_SECONDS``) the sweeper hands each to the queue again under the
queue's own job id, so a job still queued, waiting for its retry or running is not
doubled; a processing job that finished while its message still waits is queued under a
new id (processing is idempotent under the message's row lock). A reply is queued again
only under its own id: while the queue keeps that job's result (an hour) it is not
re-sent, since its send may have gone out before its result could be recorded.

It runs in every worker (arq cron, one at a time across workers) and in ``qanat serve``
when jobs run inline. The nightly reconciliation keeps its own, wider pass.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from qanat.jobs.deps import JobDeps
from qanat.jobs.queue import PROCESS_JOB, process_job_id
from qanat.outbound.deps import SEND_REPLY
from qanat.outbound.notices import send_due_notices
from qanat.outbound.replies import reply_job_id
from qanat.store import waiting
from qanat.store.tables import utcnow

log = logging.getLogger(__name__)

#: Rows looked at per sweep: a backlog larger than this drains over several sweeps.
SWEEP_BATCH = 1000


@dataclass(frozen=True)
class SweepReport:
    """What one sweep found and queued again."""

    waiting_messages: int = 0
    requeued_messages: int = 0
    unsent_replies: int = 0
    requeued_replies: int = 0
    #: Citizens' notices that came due (quiet hours over, the survey's delay passed).
    notices_sent: int = 0


async def sweep(deps: JobDeps, *, now: datetime | None = None) -> SweepReport:
    """Queue again the messages and replies that waited past the grace."""
    now = now or utcnow()
    cutoff = now - timedelta(seconds=deps.settings.sweep_grace_seconds)
    async with deps.db.session() as session:
        messages = await waiting.unprocessed_messages(
            session, saved_before=cutoff, limit=SWEEP_BATCH
        )
        replies = await waiting.unsent_replies(session, saved_before=cutoff, limit=SWEEP_BATCH)
    minute = int(now.timestamp()) // 60
    requeued_messages = 0
    for message_id in messages:
        first = process_job_id(message_id)
        again = f"{first}:sweep{minute}"
        requeued_messages += await deps.queue.requeue(
            PROCESS_JOB, message_id, job_id=first, again_id=again
        )
    requeued_replies = 0
    for reply_id in replies:
        own = reply_job_id(reply_id)
        requeued_replies += await deps.queue.requeue(SEND_REPLY, reply_id, job_id=own, again_id=own)
    due = await send_due_notices(deps, now=now)
    report = SweepReport(len(messages), requeued_messages, len(replies), requeued_replies, len(due))
    if messages or replies or due:
        log.info(
            "sweep",
            extra={
                "waiting_messages": report.waiting_messages,
                "requeued_messages": report.requeued_messages,
                "unsent_replies": report.unsent_replies,
                "requeued_replies": report.requeued_replies,
                "notices_sent": report.notices_sent,
            },
        )
    return report


async def keep_sweeping(deps: JobDeps) -> None:
    """Sweep every ``QANAT_SWEEP_EVERY_SECONDS`` until cancelled (``qanat serve`` with
    jobs inline); a sweep that fails (the store away) is tried at the next turn."""
    while True:
        await asyncio.sleep(deps.settings.sweep_every_seconds)
        try:
            await sweep(deps)
        except Exception as exc:
            log.warning("sweep failed (%s); next turn", type(exc).__name__)
