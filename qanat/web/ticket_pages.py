"""The ticket page (timeline, citizen, place, cluster, actions) and attachment downloads."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, Response
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from qanat.errors import NotFound
from qanat.model import Kind, Priority, TicketStatus
from qanat.outbound.replies import CANNED_REPLIES
from qanat.store import audit, timeline
from qanat.store.access import Viewer, is_visible, visible_ticket
from qanat.store.actions import assignable_staff
from qanat.store.tables import Attachment, Department, Message, Ticket, User
from qanat.web import safety
from qanat.web.auth import Reader, client_ip, may
from qanat.web.deps import RowId, RuntimeDep
from qanat.web.live import latest_event_id
from qanat.web.templating import page
from qanat.web.ticket_field import ticket_extras

router = APIRouter(include_in_schema=False)

#: Image types previewed in the page, with the bytes each must start with.
PREVIEW_TYPES = {
    "image/png": (b"\x89PNG\r\n\x1a\n",),
    "image/jpeg": (b"\xff\xd8\xff",),
    "image/gif": (b"GIF87a", b"GIF89a"),
    "image/webp": (b"RIFF",),
}


async def _page_context(session: AsyncSession, ticket: Ticket, viewer: Viewer) -> dict[str, Any]:
    assert ticket.id is not None
    internal = viewer.role != "representative"
    departments = list(
        (await session.execute(select(Department).order_by(col(Department.code)))).scalars()
    )
    assignee = await session.get(User, ticket.assignee_id) if ticket.assignee_id else None
    primary, duplicates = await timeline.cluster(session, ticket=ticket, viewer=viewer)
    return {
        "ticket": ticket,
        "internal": internal,
        "entries": await timeline.timeline(session, ticket_id=ticket.id, internal=internal),
        "card": await timeline.contact_card(session, ticket=ticket, viewer=viewer)
        if internal
        else None,
        "primary": primary,
        "duplicates": duplicates,
        "departments": departments,
        "department": next((d for d in departments if d.id == ticket.department_id), None),
        "assignee": assignee,
        "staff": await assignable_staff(session, department_id=ticket.department_id)
        if may(viewer, "tickets.assign")
        else [],
        "canned": CANNED_REPLIES,
        "kinds": [k.value for k in Kind],
        "priorities": [p.value for p in Priority],
        "statuses": [s.value for s in TicketStatus],
    }


@router.get("/tickets/{reference}")
async def ticket_page(
    request: Request, runtime: RuntimeDep, viewer: Reader, reference: str
) -> Response:
    """One ticket: its timeline across channels, its citizen, place, cluster and actions."""
    load_images = request.query_params.get("images") == "1"
    async with runtime.db.writing() as session:
        ticket = await visible_ticket(session, viewer=viewer, reference=reference)
        context = await _page_context(session, ticket, viewer)
        context |= await ticket_extras(session, runtime, ticket, viewer)
        context["last_event"] = await latest_event_id(session)
        await audit.record(
            session, viewer=viewer, action="view_ticket", ticket_id=ticket.id, ip=client_ip(request)
        )
    return page(
        request,
        "ticket.html",
        viewer=viewer,
        load_images=load_images,
        email_html=lambda html: safety.sanitize_email_html(html, load_images=load_images),
        has_remote_images=safety.has_remote_images,
        done=request.query_params.get("done"),
        **context,
    )


async def _attachment_file(
    request: Request, runtime: RuntimeDep, viewer: Viewer, attachment_id: RowId
) -> tuple[Attachment, Path]:
    """The attachment and its file, if the viewer may see its ticket; audited."""
    async with runtime.db.writing() as session:
        attachment = await session.get(Attachment, attachment_id)
        message = await session.get(Message, attachment.message_id) if attachment else None
        allowed = False
        if message is not None and message.ticket_id is not None:
            allowed = await is_visible(session, viewer=viewer, ticket_id=message.ticket_id)
        elif message is not None:  # a dead letter's attachment: for whoever keeps dead letters
            allowed = may(viewer, "dead_letters")
        if attachment is None or message is None or not allowed:
            raise NotFound(f"no attachment {attachment_id}")
        if not attachment.stored_at:
            raise NotFound(f"attachment {attachment_id} was not kept: {attachment.note or ''}")
        await audit.record(
            session,
            viewer=viewer,
            action="view_attachment",
            ticket_id=message.ticket_id,
            detail={"attachment_id": attachment_id, "name": attachment.name},
            ip=client_ip(request),
        )
    folder = runtime.settings.attachments_dir.resolve()
    path = (folder / attachment.stored_at).resolve()
    if not path.is_relative_to(folder) or not path.is_file():
        raise NotFound(f"attachment {attachment_id} is missing from the store")
    return attachment, path


def _download_name(name: str) -> str:
    cleaned = safety.strip_bidi(name).replace("/", "_").replace("\\", "_")
    return "".join(ch for ch in cleaned if ch.isprintable()) or "attachment"


@router.get("/attachments/{attachment_id}")
async def download(
    request: Request, runtime: RuntimeDep, viewer: Reader, attachment_id: RowId
) -> Response:
    """An attachment as a download: never rendered by the browser, never sniffed."""
    attachment, path = await _attachment_file(request, runtime, viewer, attachment_id)
    return FileResponse(
        path,
        media_type="application/octet-stream",
        filename=_download_name(attachment.name),
        content_disposition_type="attachment",
        headers={"X-Content-Type-Options": "nosniff", "Cache-Control": "private, no-store"},
    )


@router.get("/attachments/{attachment_id}/preview")
async def preview(
    request: Request, runtime: RuntimeDep, viewer: Reader, attachment_id: RowId
) -> Response:
    """An image attachment for ``<img>``: only PNG, JPEG, GIF, WebP whose bytes agree."""
    attachment, path = await _attachment_file(request, runtime, viewer, attachment_id)
    kind = attachment.content_type.split(";")[0].strip().lower()
    content = path.read_bytes()
    if kind not in PREVIEW_TYPES or not content.startswith(PREVIEW_TYPES[kind]):
        raise NotFound(f"attachment {attachment_id} is not an image that can be previewed")
    return Response(
        content,
        media_type=kind,
        headers={
            "Content-Disposition": "attachment",
            "X-Content-Type-Options": "nosniff",
            "Content-Security-Policy": "default-src 'none'; sandbox",
            "Cache-Control": "private, no-store",
        },
    )
