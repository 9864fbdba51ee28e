"""The REST API under ``/api``: tickets as each viewer may see them, and what staff do to them.

Every route needs a logged-in session (with the CSRF header for changes) or an
``Authorization: Bearer`` API token; every ticket route goes through
:func:`qanat.store.access.visible_ticket`, so another department's ticket is a 404.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, Field
from sqlmodel import col, select

from qanat.errors import BadPayload
from qanat.model import Visibility
from qanat.store import audit, inbox, views
from qanat.store.access import visible_ticket
from qanat.store.tables import Note, User, utcnow
from qanat.web import schemas, work
from qanat.web.auth import Reader, client_ip
from qanat.web.deps import MAX_ROW_ID, RowId, RuntimeDep
from qanat.web.inbox_pages import search_words
from qanat.web.work import who

router = APIRouter(tags=["tickets"])


class ReplyIn(BaseModel):
    """A reply to the citizen; ``{reference}`` and ``{name}`` are filled in."""

    text: str = Field(min_length=1, max_length=10_000)
    visibility: Visibility | None = Field(
        default=None,
        description="On X: public (under the citizen's post) or private (a DM); "
        "unset answers the way the citizen wrote.",
    )


class NoteIn(BaseModel):
    """An internal note."""

    text: str = Field(min_length=1, max_length=10_000)


class AssignIn(BaseModel):
    """Who gets the ticket (null: nobody)."""

    username: str | None = None


class TransferIn(BaseModel):
    """The department a ticket moves to, and why."""

    department: str
    reason: str = Field(min_length=1, max_length=2000)


class TicketUpdate(BaseModel):
    """Corrections to a ticket; a resolving status can carry the message citizens get."""

    kind: str | None = None
    priority: str | None = None
    status: str | None = None
    resolution_text: str | None = Field(default=None, max_length=10_000)


class MergeIn(BaseModel):
    """Another ticket whose citizen is the same person as this ticket's."""

    reference: str


class UnmergeIn(BaseModel):
    """The merge to undo (the id of its ``contacts_merged`` event)."""

    merge_id: int = Field(ge=1, le=MAX_ROW_ID)


class LinkIn(BaseModel):
    """The primary ticket this one repeats."""

    primary_reference: str


@router.get("/me", response_model=schemas.Me, response_model_exclude_unset=True)
async def me(viewer: Reader) -> dict[str, Any]:
    """Who the request is authenticated as."""
    return {
        "username": viewer.username,
        "display_name": viewer.display_name,
        "role": viewer.role,
        "language": viewer.language,
        "via": viewer.via,
        "scopes": sorted(viewer.scopes) if viewer.scopes is not None else None,
    }


class TicketQuery(BaseModel):
    """The inbox's queue, filters, search and page, as query parameters."""

    queue: str = "all"
    status: str | None = None
    department: str | None = None
    channel: str | None = None
    kind: str | None = None
    priority: str | None = None
    block: str | None = None
    representative: str | None = None
    date_from: date | None = None
    date_to: date | None = None
    q: str | None = None
    limit: int = Field(default=50, ge=1, le=500)
    offset: int = Field(default=0, ge=0, le=1_000_000)


@router.get(
    "/tickets", response_model=list[schemas.TicketSummary], response_model_exclude_unset=True
)
async def list_tickets(
    runtime: RuntimeDep, viewer: Reader, query: Annotated[TicketQuery, Query()]
) -> list[dict[str, Any]]:
    """Tickets the viewer may see, newest first, with the inbox's queues, filters and search."""
    if query.queue not in inbox.QUEUES:
        raise BadPayload(f"unknown queue {query.queue!r}; choose one of {', '.join(inbox.QUEUES)}")
    words = search_words(query.q, runtime.settings.default_region)
    filters = inbox.InboxFilters(**query.model_dump(), words=words)
    async with runtime.db.session() as session:
        rows = await inbox.inbox_rows(
            session, filters=filters, viewer=viewer, now=utcnow(), tz=runtime.settings.tz
        )
        departments = await views.department_codes(session)
        primaries = await views.references_by_id(
            session, {r.ticket.primary_ticket_id for r in rows if r.ticket.primary_ticket_id}
        )
    return [
        views.ticket_public(r.ticket, departments=departments, primaries=primaries)
        | {"assignee": r.assignee_name, "duplicates": r.duplicates, "excerpt": r.excerpt}
        for r in rows
    ]


@router.get(
    "/tickets/{reference}", response_model=schemas.TicketDetail, response_model_exclude_unset=True
)
async def get_ticket(
    request: Request, runtime: RuntimeDep, viewer: Reader, reference: str
) -> dict[str, Any]:
    """One ticket's timeline: messages, notes, events (routing reason, duplicate links)."""
    async with runtime.db.writing() as session:
        ticket = await visible_ticket(session, viewer=viewer, reference=reference)
        detail = await views.ticket_detail(session, reference=reference)
        assert detail is not None and ticket.id is not None
        await audit.record(
            session, viewer=viewer, action="view_ticket", ticket_id=ticket.id, ip=client_ip(request)
        )
        if viewer.role == "representative":
            # A representative follows their own report: no internal history or others' reports.
            return {k: v for k, v in detail.items() if k not in ("events", "duplicates")}
        notes = await session.execute(
            select(Note, User.username)
            .outerjoin(User, col(User.id) == col(Note.author_id))
            .where(col(Note.ticket_id) == ticket.id)
            .order_by(col(Note.id))
        )
        detail["notes"] = [
            {"at": n.created_at.isoformat(), "author": name, "text": n.text} for n, name in notes
        ]
    return detail


@router.patch(
    "/tickets/{reference}", response_model=schemas.TicketChanged, response_model_exclude_unset=True
)
async def update_ticket(
    request: Request, runtime: RuntimeDep, viewer: Reader, reference: str, body: TicketUpdate
) -> dict[str, Any]:
    """Change kind, priority or status (resolving a primary resolves and tells its duplicates)."""
    return await work.update(runtime, who(request, viewer), reference, **body.model_dump())


@router.post(
    "/tickets/{reference}/replies",
    status_code=201,
    response_model=schemas.ReplyResult,
    response_model_exclude_unset=True,
)
async def post_reply(
    request: Request, runtime: RuntimeDep, viewer: Reader, reference: str, body: ReplyIn
) -> dict[str, Any]:
    """Reply on the citizen's channel: ``sent``, ``failed``, or ``by_hand`` (no connector)."""
    result = await work.reply(runtime, who(request, viewer), reference, body.text, body.visibility)
    return dict(result.__dict__)


@router.post(
    "/tickets/{reference}/replies/{message_id}/delivered",
    response_model=schemas.State,
    response_model_exclude_unset=True,
)
async def post_delivered(
    request: Request, runtime: RuntimeDep, viewer: Reader, reference: str, message_id: RowId
) -> dict[str, str]:
    """Mark a reply staff delivered by hand (call centre, majlis) as sent."""
    await work.delivered(runtime, who(request, viewer), reference, message_id)
    return {"state": "sent"}


@router.post(
    "/tickets/{reference}/notes",
    status_code=201,
    response_model=schemas.Created,
    response_model_exclude_unset=True,
)
async def post_note(
    request: Request, runtime: RuntimeDep, viewer: Reader, reference: str, body: NoteIn
) -> dict[str, int]:
    """Add an internal note."""
    return {"id": await work.note(runtime, who(request, viewer), reference, body.text)}


@router.post(
    "/tickets/{reference}/take", response_model=schemas.Assignee, response_model_exclude_unset=True
)
async def post_take(
    request: Request, runtime: RuntimeDep, viewer: Reader, reference: str
) -> dict[str, str]:
    """Assign the ticket to oneself."""
    await work.take(runtime, who(request, viewer), reference)
    return {"assignee": viewer.username}


@router.post(
    "/tickets/{reference}/assign",
    response_model=schemas.Assignee,
    response_model_exclude_unset=True,
)
async def post_assign(
    request: Request, runtime: RuntimeDep, viewer: Reader, reference: str, body: AssignIn
) -> dict[str, str | None]:
    """Give the ticket to a member of its department (supervisors and admins)."""
    await work.assign(runtime, who(request, viewer), reference, body.username)
    return {"assignee": body.username}


@router.post(
    "/tickets/{reference}/transfer",
    response_model=schemas.DepartmentMoved,
    response_model_exclude_unset=True,
)
async def post_transfer(
    request: Request, runtime: RuntimeDep, viewer: Reader, reference: str, body: TransferIn
) -> dict[str, str]:
    """Move the ticket (and its duplicates) to another department, with the reason."""
    await work.transfer(runtime, who(request, viewer), reference, body.department, body.reason)
    return {"department": body.department}


@router.put(
    "/tickets/{reference}/primary",
    response_model=schemas.Primary,
    response_model_exclude_unset=True,
)
async def put_primary(
    request: Request, runtime: RuntimeDep, viewer: Reader, reference: str, body: LinkIn
) -> dict[str, str]:
    """Link the ticket as a duplicate of another (its primary carries the work)."""
    primary = await work.link(runtime, who(request, viewer), reference, body.primary_reference)
    return {"primary_reference": primary}


@router.delete(
    "/tickets/{reference}/primary",
    response_model=schemas.Primary,
    response_model_exclude_unset=True,
)
async def delete_primary(
    request: Request, runtime: RuntimeDep, viewer: Reader, reference: str
) -> dict[str, None]:
    """Unlink a duplicate: it becomes an independent ticket again."""
    await work.unlink(runtime, who(request, viewer), reference)
    return {"primary_reference": None}


@router.post(
    "/tickets/{reference}/contact/merge",
    response_model=schemas.Merged,
    response_model_exclude_unset=True,
)
async def merge_contact(
    request: Request, runtime: RuntimeDep, viewer: Reader, reference: str, body: MergeIn
) -> dict[str, int]:
    """Merge the other ticket's citizen into this ticket's (reversible)."""
    merge_id = await work.merge_contact(runtime, who(request, viewer), reference, body.reference)
    return {"merge_id": merge_id}


@router.post(
    "/tickets/{reference}/contact/unmerge",
    response_model=schemas.Unmerged,
    response_model_exclude_unset=True,
)
async def unmerge_contact(
    request: Request, runtime: RuntimeDep, viewer: Reader, reference: str, body: UnmergeIn
) -> dict[str, int]:
    """Undo a contact merge made on this ticket."""
    await work.unmerge_contact(runtime, who(request, viewer), reference, body.merge_id)
    return {"unmerged": body.merge_id}
