"""Forwarding: a ticket that belongs to another body goes to that body's Open311 endpoint
(``POST requests.json``) by a queued job that retries, and the reference it gets there is
kept on the ticket.

Staff ask (:func:`request_forward`, in their transaction: a row and a ``forward_requested``
event); the job (:func:`deliver_forward`) posts the request — the category as the body's
service code (``forward_codes``), the place, what the citizen wrote, and their contact
details only when the account says ``share_contact: true`` — and records ``forwarded``
with the body's ``service_request_id`` (or its ``token``) on the timeline.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from qanat.errors import BadPayload
from qanat.ingest.open311.client import NewRequest
from qanat.model import Direction
from qanat.outbound.deps import FORWARD_REQUEST, Delivery, OutboundDeps
from qanat.outbound.upstream import Upstream
from qanat.store import federation, queries
from qanat.store.federation_tables import ForwardedRequest
from qanat.store.tables import Message, Ticket, utcnow

log = logging.getLogger(__name__)


def forward_targets(accounts: Mapping[str, list[dict[str, Any]]]) -> dict[str, dict[str, Any]]:
    """The bodies staff may forward to: Open311 accounts with ``forward: true``, by name."""
    return {
        str(entry.get("account", "default")): entry
        for entry in accounts.get("open311", [])
        if entry.get("forward")
    }


async def request_forward(
    session: AsyncSession,
    *,
    accounts: Mapping[str, list[dict[str, Any]]],
    ticket: Ticket,
    account: str,
    actor: str,
) -> tuple[ForwardedRequest, bool]:
    """Record that ``ticket`` is to go to the body ``account``; the row and whether it must
    be queued (a forward that failed is tried again; one made before is not made twice)."""
    if account not in forward_targets(accounts):
        raise BadPayload(f"no body {account!r} to forward to")
    assert ticket.id is not None
    existing = (
        await session.execute(
            select(ForwardedRequest).where(
                col(ForwardedRequest.ticket_id) == ticket.id,
                col(ForwardedRequest.account) == account,
            )
        )
    ).scalar_one_or_none()
    if existing is not None and existing.state != federation.FAILED:
        return existing, False
    row = existing or ForwardedRequest(ticket_id=ticket.id, account=account, requested_by=actor)
    row.state, row.attempts, row.detail = federation.QUEUED, 0, None
    session.add(row)
    await session.flush()
    await queries.add_event(
        session,
        actor=actor,
        type="forward_requested",
        ticket_id=ticket.id,
        data={"account": account, "forward_id": row.id},
    )
    return row, True


def forward_job_id(forward_id: int, attempt: int = 0) -> str:
    """The queue's id for forward ``forward_id``."""
    return f"{FORWARD_REQUEST}:{forward_id}:{attempt}"


async def queue_forward(deps: OutboundDeps, row: ForwardedRequest) -> None:
    """Queue the job that posts a forward (a queue that is down leaves it ``queued``)."""
    assert row.id is not None
    try:
        await deps.queue.enqueue(FORWARD_REQUEST, row.id, job_id=forward_job_id(row.id))
    except Exception:
        log.exception("forward %s saved but not queued", row.id)


def _address(ticket: Ticket) -> str | None:
    parts = [
        f"Building {ticket.building}" if ticket.building else None,
        f"Road {ticket.road}" if ticket.road else None,
        f"Block {ticket.block}" if ticket.block else None,
        ticket.area,
    ]
    return ", ".join(p for p in parts if p) or None


async def new_request(
    session: AsyncSession, *, ticket: Ticket, settings: Mapping[str, Any]
) -> NewRequest:
    """The request a ticket becomes at the other body."""
    first = (
        await session.execute(
            select(Message)
            .where(col(Message.ticket_id) == ticket.id, col(Message.direction) == Direction.inbound)
            .order_by(col(Message.id))
            .limit(1)
        )
    ).scalar_one_or_none()
    share = bool(settings.get("share_contact"))
    names = (first.sender_name or "").split(" ", 1) if first and share else []
    codes: Mapping[str, str] = settings.get("forward_codes") or {}
    category = ticket.category or ""
    text = first.text if first is not None else ticket.subject or ""
    return NewRequest(
        service_code=codes.get(category, category) or "general",
        description=f"{text}\n\n({ticket.reference})",
        lat=ticket.lat,
        lon=ticket.lon,
        address=_address(ticket),
        email=first.sender_email if first and share else None,
        phone=first.sender_phone if first and share else None,
        first_name=names[0] if names else None,
        last_name=names[1] if len(names) > 1 else None,
    )


async def deliver_forward(deps: OutboundDeps, forward_id: int) -> Delivery:
    """The job: post one forward to its body; ``retry`` while it is unreachable."""
    async with deps.db.session() as session:
        row = await session.get(ForwardedRequest, forward_id)
        if row is None or row.state != federation.QUEUED:
            return Delivery.skipped
        ticket = await session.get(Ticket, row.ticket_id)
        settings = forward_targets(deps.accounts).get(row.account)
        if ticket is None or settings is None:
            return await _settle(deps, forward_id, Delivery.failed, "no such body any more")
        request = await new_request(session, ticket=ticket, settings=settings)
    body = deps.sender_for(federation.CHANNEL, row.account)
    if not isinstance(body, Upstream):
        return await _settle(deps, forward_id, Delivery.failed, f"no open311 account {row.account}")
    try:
        made, token = await body.forward(request)
    except BadPayload as exc:
        return await _settle(deps, forward_id, Delivery.failed, str(exc)[:2000])
    except Exception as exc:  # unreachable, 5xx, a timeout: try again later
        async with deps.db.writing() as session:
            held = await session.get(ForwardedRequest, forward_id)
            assert held is not None
            held.attempts += 1
            held.detail = f"{type(exc).__name__}: {exc}"[:2000]
            if held.attempts < deps.settings.send_attempts:
                return Delivery.retry
        return await _settle(deps, forward_id, Delivery.failed, held.detail)
    return await _settle(deps, forward_id, Delivery.sent, None, made, token)


async def _settle(
    deps: OutboundDeps,
    forward_id: int,
    outcome: Delivery,
    detail: str | None,
    made: str | None = None,
    token: str | None = None,
) -> Delivery:
    async with deps.db.writing() as session:
        row = await session.get(ForwardedRequest, forward_id)
        assert row is not None
        row.state, row.detail = outcome.value, detail
        row.service_request_id, row.token = made, token
        row.sent_at = utcnow() if outcome == Delivery.sent else None
        data = {"account": row.account, "service_request_id": made, "token": token}
        await queries.add_event(
            session,
            actor=f"{federation.CHANNEL}:{row.account}",
            type="forwarded" if outcome == Delivery.sent else "forward_failed",
            ticket_id=row.ticket_id,
            data={**data, "detail": detail},
        )
    return outcome
