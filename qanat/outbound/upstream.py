"""Status back upstream: a federated ticket's status changes, posted to the Open311
system it came from, by queued jobs that retry.

Every ``status_changed`` event on a ticket that holds an upstream request owes that
upstream one update (:func:`queue_status_updates` writes the rows once, then queues
them). The job (:func:`deliver_upstream_update`) posts it with ``update_id``
``qanat-<row id>`` — what the upstream de-duplicates a retry by — tries again while the
upstream is unreachable, up to ``QANAT_SEND_ATTEMPTS`` times, and records the upstream's
acknowledgement (or the failure) on the ticket's timeline. The nightly reconciliation
queues what is still owed (:func:`requeue_undelivered`). Public replies on a federated
ticket go upstream through the connector's ``send``, like any reply.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any, Protocol, runtime_checkable

from qanat.errors import BadPayload
from qanat.ingest.open311.client import NewRequest, StatusUpdate
from qanat.model import OPEN_STATUSES
from qanat.outbound.deps import SEND_UPSTREAM_UPDATE, Delivery, OutboundDeps
from qanat.store import federation
from qanat.store.federation_tables import UpstreamUpdate
from qanat.store.tables import Event, Ticket, utcnow

log = logging.getLogger(__name__)

#: How far back the minute's sweep looks for status changes owed upstream.
SWEEP_WINDOW = timedelta(days=2)

_OPEN = {s.value for s in OPEN_STATUSES}
#: What the upstream's citizen reads for each qanat status (Arabic, then English).
STATUS_TEXT = {
    "new": "استلمت الجهة المختصة البلاغ. Received by the body in charge.",
    "open": "البلاغ قيد المعالجة. In progress.",
    "pending": "بانتظار معلومات من مقدم البلاغ. Waiting for information from the reporter.",
    "resolved": "تمت معالجة البلاغ. Resolved.",
    "closed": "أُغلق البلاغ. Closed.",
}


@runtime_checkable
class Upstream(Protocol):
    """What an Open311 account's connector does for federation."""

    async def post_update(self, update: StatusUpdate) -> str:
        """Post a status update; the upstream's id for it."""
        ...

    async def forward(self, request: NewRequest) -> tuple[str | None, str | None]:
        """Post a new request; its id or token."""
        ...


def upstream_accounts(accounts: dict[str, list[dict[str, Any]]] | Any) -> list[str]:
    """The Open311 accounts qanat pulls requests from (those it owes status updates)."""
    return [
        str(entry.get("account", "default"))
        for entry in accounts.get("open311", [])
        if entry.get("poll", True)
    ]


def describe(event: Event) -> tuple[str, str]:
    """The Open311 status and text of one status change."""
    to = str(event.data.get("to", ""))
    status = "open" if to in _OPEN else "closed"
    text = STATUS_TEXT.get(to, to)
    reason = str(event.data.get("reason") or "").strip()
    return status, f"{text} {reason}".strip()[:4000]


def update_job_id(update_id: int) -> str:
    """The queue's id for sending update ``update_id`` (queued once, however often asked)."""
    return f"{SEND_UPSTREAM_UPDATE}:{update_id}"


async def queue_status_updates(
    deps: OutboundDeps, *, ticket_ids: list[int] | None = None, since: datetime | None = None
) -> list[int]:
    """Write the updates owed for recent status changes and queue them; their ids.

    Never raises: a queue that is down leaves the rows ``queued`` for the next sweep.
    """
    accounts = upstream_accounts(deps.accounts)
    if not accounts:
        return []
    try:
        async with deps.db.writing() as session:
            made = await federation.owe_updates(
                session,
                accounts=accounts,
                since=since or utcnow() - SWEEP_WINDOW,
                ticket_ids=ticket_ids,
                describe=describe,
            )
        for update_id in made:
            await deps.queue.enqueue(
                SEND_UPSTREAM_UPDATE, update_id, job_id=update_job_id(update_id)
            )
    except Exception:
        log.exception("status updates owed upstream were not all queued")
        return []
    return made


async def deliver_upstream_update(deps: OutboundDeps, update_id: int) -> Delivery:
    """The job: post one owed update; ``retry`` while the upstream is unreachable and
    tries are left. Only a ``queued`` row is ever sent."""
    async with deps.db.session() as session:
        row = await session.get(UpstreamUpdate, update_id)
        ticket = await session.get(Ticket, row.ticket_id) if row is not None else None
        if row is None or row.state != federation.QUEUED:
            return Delivery.skipped
    upstream = deps.sender_for(federation.CHANNEL, row.account)
    if not isinstance(upstream, Upstream):
        return await _settle(deps, update_id, Delivery.failed, f"no open311 account {row.account}")
    reference = ticket.reference if ticket is not None else ""
    update = StatusUpdate(
        service_request_id=row.service_request_id,
        update_id=f"qanat-{row.id}",
        description=f"{row.description} ({reference})" if reference else row.description,
        status=row.status,
        updated_at=row.created_at,
    )
    try:
        remote = await upstream.post_update(update)
    except BadPayload as exc:
        return await _settle(deps, update_id, Delivery.failed, str(exc)[:2000])
    except Exception as exc:  # unreachable, 5xx, a timeout: try again later
        log.warning("upstream update %s failed: %s", update_id, type(exc).__name__)
        return await _record_try(deps, update_id, f"{type(exc).__name__}: {exc}"[:2000])
    return await _settle(deps, update_id, Delivery.sent, None, remote)


async def _record_try(deps: OutboundDeps, update_id: int, detail: str) -> Delivery:
    async with deps.db.writing() as session:
        row = await session.get(UpstreamUpdate, update_id)
        assert row is not None
        row.attempts += 1
        row.detail = detail
        if row.attempts < deps.settings.send_attempts:
            return Delivery.retry
    return await _settle(deps, update_id, Delivery.failed, detail)


async def _settle(
    deps: OutboundDeps,
    update_id: int,
    outcome: Delivery,
    detail: str | None,
    remote_id: str | None = None,
) -> Delivery:
    async with deps.db.writing() as session:
        row = await session.get(UpstreamUpdate, update_id)
        assert row is not None
        await federation.settle_update(
            session, row, state=outcome.value, detail=detail, remote_id=remote_id, now=utcnow()
        )
    return outcome


async def requeue_undelivered(deps: OutboundDeps) -> dict[str, list[int]]:
    """Queue every update not sent yet again (failed ones get their tries back); the ids
    by account. The upstream keeps each once, so nothing arrives twice."""
    by_account: dict[str, list[int]] = {}
    async with deps.db.writing() as session:
        for row in await federation.undelivered_updates(session):
            if row.state == federation.FAILED:
                row.state, row.attempts = federation.QUEUED, 0
                session.add(row)
            by_account.setdefault(row.account, []).append(row.id or 0)
    night = int(utcnow().timestamp())
    for ids in by_account.values():
        for update_id in ids:
            # A job id of its own: the first job's id may still be held by arq.
            job_id = f"{update_job_id(update_id)}:again{night}"
            await deps.queue.enqueue(SEND_UPSTREAM_UPDATE, update_id, job_id=job_id)
    return by_account
