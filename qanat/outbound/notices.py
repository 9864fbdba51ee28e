"""Sending what qanat tells citizens by itself: notices due now become queued replies.

Notices are decided in the transaction of their cause (:mod:`qanat.store.notices`); after
that commit, or at the minute's sweep for those that waited (quiet hours, the survey's
delay), :func:`send_due_notices` releases them as queued outbound messages and queues
the reply job for each — the same job as staff replies, with its retries, its
``reply_failed`` event on the ticket, and its rule that only a queued row is sent.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import datetime

from qanat.outbound.deps import SEND_REPLY, OutboundDeps
from qanat.outbound.replies import reply_job_id
from qanat.store import notices

log = logging.getLogger(__name__)


async def send_due_notices(
    deps: OutboundDeps, *, ticket_ids: Iterable[int] | None = None, now: datetime | None = None
) -> list[int]:
    """Release the notices due by ``now`` (of ``ticket_ids``, or all) and queue them.

    Returns the outbound message ids queued. A queue that is down leaves them ``queued``
    for the sweep of unsent replies; nothing is lost and nothing is sent twice.
    """
    if not deps.settings.notices:
        return []
    wanted = None if ticket_ids is None else [t for t in ticket_ids if t is not None]
    if wanted == []:
        return []
    async with deps.db.writing() as session:
        released = await notices.release_due(session, now=now, ticket_ids=wanted)
    for message_id in released:
        try:
            await deps.queue.enqueue(SEND_REPLY, message_id, job_id=reply_job_id(message_id))
        except Exception as exc:
            log.warning("notice %s saved but not queued (%s)", message_id, type(exc).__name__)
    return released
