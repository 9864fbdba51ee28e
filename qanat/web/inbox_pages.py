"""The inbox page: queues, filters, search, the rows that arrive live, and dead letters."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from typing import Annotated, Any
from urllib.parse import parse_qsl, urlencode

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import func
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from qanat.model import BUILTIN_CHANNELS, Kind, Priority, TicketStatus
from qanat.normalize import normalize_phone
from qanat.normalize.text import search_form
from qanat.store import inbox, saved_filters
from qanat.store.access import Viewer, visible_tickets
from qanat.store.actions import dead_letters
from qanat.store.tables import Department, Event, Ticket, User, utcnow
from qanat.web import work
from qanat.web.auth import DeadLetterKeeper, Reader, client_ip, may
from qanat.web.deps import RowId, RuntimeDep
from qanat.web.names import NamesDep
from qanat.web.templating import page

router = APIRouter(include_in_schema=False)

#: Query parameters of the filter bar, as the form names them.
FILTER_FIELDS = (
    "channel", "kind", "status", "priority", "block", "representative", "department", "assignee",
)  # fmt: skip


def _day(value: str | None) -> date | None:
    try:
        return date.fromisoformat(value) if value else None
    except ValueError:
        return None


def search_words(q: str | None, region: str = "BH") -> tuple[str, ...]:
    """What staff typed in the search box, as the words the store compares (match form,
    numbers kept as typed, a phone number in E.164, read as a number of ``region`` — the
    body's default region — when it has no country code)."""
    return tuple(_as_phone(word, region) for word in search_form(q).split()) if q else ()


def _as_phone(word: str, region: str) -> str:
    # A phone number typed alone is looked up among identities, which are in E.164.
    if word.isdigit() and 8 <= len(word) <= 15:
        return normalize_phone(word, region) or word
    return word


def filters_from(request: Request, *, queue: str, region: str = "BH") -> inbox.InboxFilters:
    """The inbox filters in the query string (blank fields and bad dates are ignored)."""
    params = request.query_params
    chosen = {name: (params.get(name) or "").strip() or None for name in FILTER_FIELDS}
    try:
        offset = max(0, int(params.get("offset", "0")))
    except ValueError:
        offset = 0
    q = (params.get("q") or "").strip() or None
    sort = params.get("sort", "")
    return inbox.InboxFilters(
        sort=sort if sort in inbox.SORTS else "",
        descending=params.get("dir") == "desc",
        queue=queue,
        date_from=_day(params.get("date_from")),
        date_to=_day(params.get("date_to")),
        q=q,
        words=search_words(q, region),
        offset=offset,
        channel=chosen["channel"],
        kind=chosen["kind"],
        status=chosen["status"],
        priority=chosen["priority"],
        block=chosen["block"],
        representative=chosen["representative"],
        department=chosen["department"],
        assignee=chosen["assignee"],
        breached=params.get("breached") == "1",
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
async def inbox_page(
    request: Request, runtime: RuntimeDep, viewer: Reader, names: NamesDep
) -> Response:
    """A queue of tickets with the filter bar, search, sorting, saved views, bulk actions
    and live arrivals."""
    queues = inbox.queues_for(viewer)
    asked = request.query_params.get("queue")
    queue = asked if asked in queues else inbox.default_queue(viewer)
    filters = filters_from(request, queue=queue, region=runtime.settings.default_region)
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
        views = await saved_filters.filters_of(session, user_id=viewer.user_id)
        staff = await _assignable(session, viewer)
    return page(
        request,
        "inbox.html",
        viewer=viewer,
        names=names,
        views=views,
        staff=staff,
        sort_links=sort_links(request, filters),
        rows=rows,
        queues=queues,
        counts=counts,
        count_cap=inbox.QUEUE_COUNT_CAP,
        filters=filters,
        departments=departments,
        last_event=last_event or 0,
        now=now,
        more=len(rows) == filters.limit,
        query=_query_without_offset(request),
        **filter_options(runtime.connectors.specs),
    )


async def _assignable(session: AsyncSession, viewer: Viewer) -> list[User]:
    """Who the bulk bar offers to assign to: oneself, and the department's staff (or, for
    admins, every member of staff) when one may assign."""
    statement = select(User).where(
        col(User.active).is_(True), col(User.role).in_(["agent", "supervisor", "admin"])
    )
    if not may(viewer, "tickets.assign"):
        statement = statement.where(col(User.id) == viewer.user_id)
    elif viewer.role != "admin":
        statement = statement.where(col(User.department_id) == viewer.department_id)
    return list((await session.execute(statement.order_by(col(User.display_name)))).scalars())


def sort_links(request: Request, filters: inbox.InboxFilters) -> dict[str, dict[str, str]]:
    """For each sortable column: the address that sorts by it (again: the other way) and
    its ``aria-sort``."""
    kept = [
        (k, v) for k, v in request.query_params.multi_items() if k not in ("sort", "dir", "offset")
    ]
    links = {}
    for column in inbox.SORTS:
        current = filters.sort == column
        descending = not filters.descending if current else column in ("priority", "updated")
        query = urlencode([*kept, ("sort", column), ("dir", "desc" if descending else "asc")])
        state = ("descending" if filters.descending else "ascending") if current else "none"
        links[column] = {"href": f"/inbox?{query}", "aria": state}
    return links


def _query_without_offset(request: Request) -> str:
    kept = [(k, v) for k, v in request.query_params.multi_items() if k != "offset"]
    return urlencode(kept)


@router.get("/inbox/rows")
async def inbox_rows_fragment(
    request: Request, runtime: RuntimeDep, viewer: Reader, names: NamesDep, references: str = ""
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
    return page(request, "_rows.html", viewer=viewer, names=names, rows=rows, fresh=True)


@router.post("/inbox/views")
async def save_view(
    runtime: RuntimeDep,
    viewer: Reader,
    name: Annotated[str, Form(min_length=1, max_length=80)],
    query: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    """Save the list as it is now (queue, filters, search, sort) under a name."""
    kept = urlencode([(k, v) for k, v in parse_qsl(query.lstrip("?")) if k != "offset"])
    async with runtime.db.writing() as session:
        await saved_filters.save_filter(session, user_id=viewer.user_id, name=name, query=kept)
    return RedirectResponse(f"/inbox?{kept}", status_code=303)


@router.post("/inbox/views/{view_id}/delete")
async def delete_view(runtime: RuntimeDep, viewer: Reader, view_id: int) -> Response:
    """Forget one of one's saved views."""
    async with runtime.db.writing() as session:
        await saved_filters.delete_filter(session, user_id=viewer.user_id, filter_id=view_id)
    return RedirectResponse("/inbox", status_code=303)


@router.get("/dead-letters")
async def dead_letters_page(
    request: Request, runtime: RuntimeDep, viewer: DeadLetterKeeper
) -> Response:
    """Messages that could not be processed, with their reasons and a retry button."""
    async with runtime.db.session() as session:
        messages = await dead_letters(session, limit=200)
    done = request.query_params.get("done")
    return page(request, "dead_letters.html", viewer=viewer, messages=messages, done=done)


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
    return RedirectResponse(f"/dead-letters?done={message_id}", status_code=303)
