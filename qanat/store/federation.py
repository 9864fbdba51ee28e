"""Federation in the store: which tickets came from an upstream Open311 system, the
status updates owed to it, and requests forwarded to other bodies.

A ticket is federated when one of its citizen messages came in on channel ``open311``
through an upstream account (the message's external id is the upstream's
``service_request_id``). Every ``status_changed`` event on such a ticket owes the
upstream one update; :func:`owe_updates` writes the rows once (unique per event), so the
hook after a staff action, the minute's sweep and the nightly check can all call it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from qanat.model import Direction
from qanat.store import queries
from qanat.store.federation_tables import ForwardedRequest, UpstreamUpdate
from qanat.store.tables import Event, Message

CHANNEL = "open311"
QUEUED, SENT, FAILED = "queued", "sent", "failed"


async def upstream_requests(
    session: AsyncSession, *, ticket_ids: Sequence[int], accounts: Sequence[str]
) -> dict[int, list[tuple[str, str]]]:
    """Ticket id → the (account, service_request_id) of the upstream requests it holds."""
    if not ticket_ids or not accounts:
        return {}
    rows = await session.execute(
        select(Message.ticket_id, Message.account, Message.external_id).where(
            col(Message.ticket_id).in_(list(ticket_ids)),
            col(Message.channel) == CHANNEL,
            col(Message.account).in_(list(accounts)),
            col(Message.direction) == Direction.inbound,
        )
    )
    found: dict[int, list[tuple[str, str]]] = {}
    for ticket_id, account, external_id in rows:
        if ticket_id is not None:
            found.setdefault(ticket_id, []).append((account, external_id))
    return found


def _federated(accounts: Sequence[str]) -> Any:
    """Tickets holding a message from one of the upstream ``accounts``."""
    return select(Message.ticket_id).where(
        col(Message.channel) == CHANNEL,
        col(Message.account).in_(list(accounts)),
        col(Message.direction) == Direction.inbound,
    )


async def _changes_owed(
    session: AsyncSession,
    *,
    accounts: Sequence[str],
    since: datetime,
    ticket_ids: Sequence[int] | None,
) -> list[Event]:
    """Status changes since ``since`` on federated tickets that no update row tells yet."""
    statement = select(Event).where(
        col(Event.type) == "status_changed",
        col(Event.at) >= since,
        col(Event.ticket_id).in_(_federated(accounts)),
    )
    if ticket_ids is not None:
        statement = statement.where(col(Event.ticket_id).in_(list(ticket_ids)))
    events = list((await session.execute(statement.order_by(col(Event.id)))).scalars())
    if not events:
        return []
    done = set(
        (
            await session.execute(
                select(UpstreamUpdate.event_id).where(
                    col(UpstreamUpdate.event_id).in_([e.id for e in events])
                )
            )
        ).scalars()
    )
    return [e for e in events if e.id not in done and e.ticket_id is not None]


async def owe_updates(
    session: AsyncSession,
    *,
    accounts: Sequence[str],
    since: datetime,
    ticket_ids: Sequence[int] | None = None,
    describe: Callable[[Event], tuple[str, str]],
) -> list[int]:
    """Write an update row for each status change since ``since`` on a federated ticket
    that has none yet; the new rows' ids. ``describe(event)`` gives (status, text)."""
    events = await _changes_owed(session, accounts=accounts, since=since, ticket_ids=ticket_ids)
    ticket_set = [e.ticket_id for e in events if e.ticket_id is not None]
    upstreams = await upstream_requests(session, ticket_ids=ticket_set, accounts=accounts)
    made: list[UpstreamUpdate] = []
    for event in events:
        assert event.ticket_id is not None
        status, text = describe(event)
        for account, request_id in upstreams.get(event.ticket_id, []):
            row = UpstreamUpdate(
                event_id=event.id,
                ticket_id=event.ticket_id,
                account=account,
                service_request_id=request_id,
                status=status,
                description=text,
            )
            session.add(row)
            made.append(row)
    await session.flush()
    return [row.id for row in made if row.id is not None]


async def undelivered_updates(
    session: AsyncSession, *, before: datetime | None = None
) -> list[UpstreamUpdate]:
    """Updates not sent yet (queued or failed), oldest first; ``before``: made before then."""
    statement = select(UpstreamUpdate).where(col(UpstreamUpdate.state) != SENT)
    if before is not None:
        statement = statement.where(col(UpstreamUpdate.created_at) < before)
    return list((await session.execute(statement.order_by(col(UpstreamUpdate.id)))).scalars())


async def settle_update(
    session: AsyncSession,
    row: UpstreamUpdate,
    *,
    state: str,
    detail: str | None,
    remote_id: str | None,
    now: datetime,
) -> None:
    """Record how sending an update ended, with an event on the ticket (the upstream's
    acknowledgement, or why it could not be sent)."""
    row.state, row.detail, row.remote_id = state, detail, remote_id
    row.sent_at = now if state == SENT else None
    session.add(row)
    data = {
        "account": row.account,
        "service_request_id": row.service_request_id,
        "status": row.status,
        "remote_id": remote_id,
        "detail": detail,
        "tries": row.attempts + int(state == SENT),
    }
    await queries.add_event(
        session,
        actor=f"{CHANNEL}:{row.account}",
        type=f"upstream_update_{state}",
        ticket_id=row.ticket_id,
        data=data,
    )


async def forwarded(session: AsyncSession, *, ticket_id: int) -> list[ForwardedRequest]:
    """The ticket's forwards, oldest first."""
    statement = select(ForwardedRequest).where(col(ForwardedRequest.ticket_id) == ticket_id)
    return list((await session.execute(statement.order_by(col(ForwardedRequest.id)))).scalars())
