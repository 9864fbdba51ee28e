"""``/events/stream``: server-sent events announcing new tickets and changes, as they happen.

One change feed per process (:class:`~qanat.web.feed.ChangeFeed`) watches the newest
event id — one small query a second, however many pages are open — so every connection
sees what any process (another web replica, an arq worker, a connector) wrote, and a
connection asks the store for its viewer's events only when something new was written.
Only events on tickets the viewer may see are sent; a representative hears only about
their reports. One person may hold :data:`~qanat.web.feed.STREAMS_PER_USER` streams.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import StreamingResponse
from sqlalchemy import func
from sqlalchemy import select as sa_select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from qanat.runtime import Runtime
from qanat.store.access import Viewer, visible_tickets
from qanat.store.tables import Event, Ticket
from qanat.web.auth import Reader
from qanat.web.deps import AfterId, RuntimeDep
from qanat.web.feed import ChangeFeed, feed_of

router = APIRouter(tags=["live"])

#: Seconds between looks at the newest event id, and between keep-alive comments.
POLL_SECONDS = 1.0
KEEPALIVE_SECONDS = 15.0
#: A connection ends after this long; browsers reconnect on their own with Last-Event-ID,
#: so nothing is missed, and proxies and replicas never hold a stream forever.
STREAM_SECONDS = 600.0
#: Events a representative is told about (the rest is internal work).
PUBLIC_EVENTS = frozenset({"created", "status_changed", "reply_sent", "message_added"})
BATCH = 200


async def latest_event_id(session: AsyncSession) -> int:
    """The id of the newest event (0 when there is none)."""
    return int((await session.execute(select(func.max(col(Event.id))))).scalar_one() or 0)


async def events_after(
    session: AsyncSession, *, viewer: Viewer, after: int, limit: int = BATCH
) -> list[dict[str, Any]]:
    """Events after id ``after`` on tickets the viewer may see, oldest first."""
    statement = (
        sa_select(
            col(Event.id),
            col(Event.type),
            col(Event.actor),
            col(Event.at),
            col(Ticket.reference),
            col(Ticket.status),
        )
        .join(Ticket, col(Ticket.id) == col(Event.ticket_id))
        .where(col(Event.id) > after, visible_tickets(viewer))
        .order_by(col(Event.id))
        .limit(limit)
    )
    if viewer.role == "representative":
        statement = statement.where(col(Event.type).in_(PUBLIC_EVENTS))
    return [
        {
            "id": id_,
            "type": type_,
            "actor": actor,
            "at": at.isoformat(),
            "reference": reference,
            "status": status,
        }
        for id_, type_, actor, at, reference, status in (await session.execute(statement)).all()
    ]


def sse(event: dict[str, Any]) -> str:
    """One server-sent event: its id (for reconnecting), name and JSON data."""
    name = "ticket_created" if event["type"] == "created" else "ticket_changed"
    return f"id: {event['id']}\nevent: {name}\ndata: {json.dumps(event, ensure_ascii=False)}\n\n"


async def stream(
    runtime: Runtime,
    viewer: Viewer,
    *,
    after: int,
    gone: Callable[[], Awaitable[bool]],
    poll: float = POLL_SECONDS,
    lasting: float = STREAM_SECONDS,
    feed: ChangeFeed | None = None,
) -> AsyncIterator[str]:
    """Yield events as they are written, until the client leaves or ``lasting`` runs out.

    The store is asked for this viewer's events only when the feed's newest id moved.
    """
    feed = feed or ChangeFeed(runtime.db, every=poll)
    yield "retry: 3000\n\n"
    quiet, elapsed, seen = 0.0, 0.0, -1
    async with feed.subscribed(viewer.user_id):
        while elapsed < lasting and not await gone():
            latest = await feed.wait_past(seen, within=poll)
            if latest > seen:
                seen = latest
                # A fresh session per look: no transaction is held open between them.
                async with runtime.db.session() as session:
                    batch = await events_after(session, viewer=viewer, after=after)
                for event in batch:
                    after = max(after, event["id"])
                    yield sse(event)
                if len(batch) == BATCH:
                    seen = -1  # more to send: look again straight away
                quiet = 0.0 if batch else quiet + poll
            else:
                quiet += poll
            if quiet >= KEEPALIVE_SECONDS:
                quiet = 0.0
                yield ": keep-alive\n\n"
            elapsed += poll


@router.get("/events/stream")
async def event_stream(
    request: Request, runtime: RuntimeDep, viewer: Reader, after: AfterId = None
) -> StreamingResponse:
    """New tickets and changes as ``text/event-stream`` (``after``: resume after an event id)."""
    resume = request.headers.get("last-event-id", "")
    if resume.isdigit():
        after = int(resume)
    if after is None:
        async with runtime.db.session() as session:
            after = await latest_event_id(session)
    state = request.app.state
    poll = float(getattr(state, "sse_poll_seconds", POLL_SECONDS))
    lasting = float(getattr(state, "sse_stream_seconds", STREAM_SECONDS))
    feed = feed_of(state, runtime.db, every=poll)
    feed.admit(viewer.user_id)  # 429 over the per-person limit, before the stream starts
    return StreamingResponse(
        stream(
            runtime,
            viewer,
            after=after,
            gone=request.is_disconnected,
            poll=poll,
            lasting=lasting,
            feed=feed,
        ),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )
