"""The inbox page: queues, filters, search, the rows that arrive live, and dead letters."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import func
from sqlmodel import col, select

from qanat.model import BUILTIN_CHANNELS, Kind, Priority, TicketStatus
from qanat.normalize.text import search_form
from qanat.store import inbox
from qanat.store.access import visible_tickets
from qanat.store.actions import dead_letters
from qanat.store.tables import Department, Event, Ticket, utcnow
from qanat.web import work
from qanat.web.auth import DeadLetterKeeper, Reader, client_ip
from qanat.web.deps import RowId, RuntimeDep
from qanat.web.templating import page

router = APIRouter(include_in_schema=False)

#: Query parameters of the filter bar, as the form names them.
FILTER_FIELDS = ("channel", "kind", "status", "priority", "block", "representative", "department")


def _day(value: str | None) -> date | None:
    try:
        return date.fromisoformat(value) if value else None
    except ValueError:
        return None


def search_words(q: str | None) -> tuple[str, ...]:
    """What staff typed in the search box, as the words the store compares (match form,
    numbers kept as typed)."""
    return tuple(search_form(q).split()) if q else ()


def filters_from(request: Request, *, queue: str) -> inbox.InboxFilters:
    """The inbox filters in the query string (blank fields and bad dates are ignored)."""
    params = request.query_params
    chosen = {name: (params.get(name) or "").strip() or None for name in FILTER_FIELDS}
    try:
        offset = max(0, int(params.get("offset", "0")))
    except ValueError:
        offset = 0
    q = (params.get("q") or "").strip() or None
    return inbox.InboxFilters(
        queue=queue,
        date_from=_day(params.get("date_from")),
        date_to=_day(params.get("date_to")),
        q=q,
        words=search_words(q),
        offset=offset,
        channel=chosen["channel"],
        kind=chosen["kind"],
        status=chosen["status"],
        priority=chosen["priority"],
        block=chosen["block"],
        representative=chosen["representative"],
        department=chosen["department"],
    )


def filter_options(plugin_channels: Iterable[str] = ()) -> dict[str, Any]:
    """The choices of the filter bar's lists (installed connectors' channels included)."""
    return {
        "channels": list(dict.fromkeys([*BUILTIN_CHANNELS, *sorted(plugin_channels)])),
        "kinds": [k.value for k in Kind],
        "statuses": [s.value for s in TicketStatus],
        "priorities": [p.value for p in Priority],
    }


@router.get("/")
async def home() -> Response:
    """The inbox is the home page."""
    return RedirectResponse("/inbox", status_code=303)


@router.get("/inbox")
async def inbox_page(request: Request, runtime: RuntimeDep, viewer: Reader) -> Response:
    """A queue of tickets with the filter bar, search and live arrivals."""
    queues = inbox.queues_for(viewer)
    asked = request.query_params.get("queue")
    queue = asked if asked in queues else inbox.default_queue(viewer)
    filters = filters_from(request, queue=queue)
    now = utcnow()
    async with runtime.db.session() as session:
        rows = await inbox.inbox_rows(
            session, filters=filters, viewer=viewer, now=now, tz=runtime.settings.tz
        )
        counts = await inbox.queue_counts(session, viewer=viewer, queues=queues, now=now)
        departments = list(
            (await session.execute(select(Department).order_by(col(Department.code)))).scalars()
        )
        last_event = (await session.execute(select(func.max(col(Event.id))))).scalar_one()
    return page(
        request,
        "inbox.html",
        viewer=viewer,
        rows=rows,
        queues=queues,
        counts=counts,
        filters=filters,
        departments=departments,
        last_event=last_event or 0,
        now=now,
        more=len(rows) == filters.limit,
        query=_query_without_offset(request),
        **filter_options(runtime.connectors.specs),
    )


def _query_without_offset(request: Request) -> str:
    kept = [(k, v) for k, v in request.query_params.multi_items() if k != "offset"]
    return urlencode(kept)


@router.get("/inbox/rows")
async def inbox_rows_fragment(
    request: Request, runtime: RuntimeDep, viewer: Reader, references: str = ""
) -> Response:
    """Table rows for tickets announced live (only those the viewer may see)."""
    wanted = [r.strip() for r in references.split(",") if r.strip()][:50]
    async with runtime.db.session() as session:
        tickets = list(
            (
                await session.execute(
                    select(Ticket)
                    .where(col(Ticket.reference).in_(wanted), visible_tickets(viewer))
                    .order_by(col(Ticket.id).desc())
                )
            ).scalars()
        )
        rows = await inbox.describe(session, tickets)
    return page(request, "_rows.html", viewer=viewer, rows=rows, now=utcnow(), fresh=True)


@router.get("/dead-letters")
async def dead_letters_page(
    request: Request, runtime: RuntimeDep, viewer: DeadLetterKeeper
) -> Response:
    """Messages that could not be processed, with their reasons and a retry button."""
    async with runtime.db.session() as session:
        messages = await dead_letters(session, limit=200)
    return page(request, "dead_letters.html", viewer=viewer, messages=messages)


@router.post("/dead-letters/{message_id}/retry")
async def retry_form(
    request: Request,
    runtime: RuntimeDep,
    viewer: DeadLetterKeeper,
    message_id: RowId,
    csrf_token: Annotated[str, Form()] = "",
) -> Response:
    """Retry a dead letter from the page."""
    await work.retry(runtime, work.Request(viewer, client_ip(request)), message_id)
    return RedirectResponse("/dead-letters", status_code=303)
