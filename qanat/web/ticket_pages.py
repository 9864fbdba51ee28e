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
from qanat.store import audit, notices, timeline
from qanat.store.access import Viewer, is_visible, visible_ticket
from qanat.store.actions import assignable_staff
from qanat.store.canned import canned_replies
from qanat.store.tables import Attachment, Department, Message, Ticket, User
from qanat.web import safety
from qanat.web.auth import Reader, client_ip, may
from qanat.web.deps import RowId, RuntimeDep
from qanat.web.live import latest_event_id
from qanat.web.names import NamesDep
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


async def _choosable(session: AsyncSession, ticket: Ticket, viewer: Viewer) -> list[User]:
    """Who the panel offers as assignee: the department's staff for those who assign,
    else oneself (and whoever holds the ticket now)."""
    if may(viewer, "tickets.assign"):
        people = await assignable_staff(session, department_id=ticket.department_id)
        if viewer.role == "admin" and all(p.id != viewer.user_id for p in people):
            me = await session.get(User, viewer.user_id)
            people += [me] if me is not None else []
        return people
    me = await session.get(User, viewer.user_id)
    return [me] if me is not None else []


async def ticket_context(session: AsyncSession, ticket: Ticket, viewer: Viewer) -> dict[str, Any]:
    """What the ticket page and its parts (head, timeline, panel, side) are drawn from."""
    assert ticket.id is not None
    internal = viewer.role != "representative"
    departments = list(
        (await session.execute(select(Department).order_by(col(Department.code)))).scalars()
    )
    assignee = await session.get(User, ticket.assignee_id) if ticket.assignee_id else None
    primary, duplicates = await timeline.cluster(session, ticket=ticket, viewer=viewer)
    entries = await timeline.timeline(session, ticket_id=ticket.id, internal=internal)
    choosable = await _choosable(session, ticket, viewer) if internal else []
    if assignee is not None and all(p.id != assignee.id for p in choosable):
        choosable.append(assignee)
    return {
        "ticket": ticket,
        "internal": internal,
        "entries": entries,
        "card": await timeline.contact_card(session, ticket=ticket, viewer=viewer)
        if internal
        else None,
        "x_username": _x_username(entries),
        "surveys": [
            n
            for n in await notices.notices_of(session, ticket_id=ticket.id)
            if n.kind == "survey" and n.state == notices.RELEASED
        ],
        "primary": primary,
        "duplicates": duplicates,
        "departments": [d for d in departments if d.active or d.id == ticket.department_id],
        "department": next((d for d in departments if d.id == ticket.department_id), None),
        "assignee": assignee,
        "choosable": choosable,
        "canned": await canned_replies(session),
        "kinds": [k.value for k in Kind],
        "priorities": [p.value for p in Priority],
        "statuses": [s.value for s in TicketStatus],
        "previewable": tuple(PREVIEW_TYPES),
        "errors": {},
        "entry_text": "",
        "entry_reason": "",
        "done": [],
    }


def _x_username(entries: list[timeline.TimelineEntry]) -> str | None:
    """The citizen's X username, from the newest X message that carried it."""
    for entry in reversed(entries):
        message = entry.message
        if message is not None and message.channel == "x" and message.direction == "in":
            username = (message.channel_metadata or {}).get("username")
            if isinstance(username, str) and username:
                return username
    return None


@router.get("/tickets/{reference}")
async def ticket_page(
    request: Request, runtime: RuntimeDep, viewer: Reader, names: NamesDep, reference: str
) -> Response:
    """One ticket: its timeline across channels, its citizen, place, cluster and the panel."""
    load_images = request.query_params.get("images") == "1"
    async with runtime.db.writing() as session:
        ticket = await visible_ticket(session, viewer=viewer, reference=reference)
        context = await ticket_context(session, ticket, viewer)
        context |= await ticket_extras(session, runtime, ticket, viewer)
        context["last_event"] = await latest_event_id(session)
        await audit.record(
            session, viewer=viewer, action="view_ticket", ticket_id=ticket.id, ip=client_ip(request)
        )
    done = request.query_params.get("done", "")
    context["done"] = [key for key in done.split(",") if key.startswith("toast_")]
    return page(
        request,
        "ticket.html",
        viewer=viewer,
        names=names,
        **context,
        **mail_view(load_images),
    )


def mail_view(load_images: bool) -> dict[str, Any]:
    """How citizens' email HTML is shown (remote images only when staff ask)."""
    return {
        "load_images": load_images,
        "email_html": lambda html: safety.sanitize_email_html(html, load_images=load_images),
        "has_remote_images": safety.has_remote_images,
    }


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


#: Types a download keeps (when its bytes agree, for images); any other, HTML and SVG
#: above all, is sent as ``application/octet-stream``.
DOWNLOAD_TYPES = frozenset(
    {*PREVIEW_TYPES, "image/heic", "application/pdf", "text/plain", "text/csv", "audio/ogg",
     "audio/mpeg", "audio/mp4", "video/mp4", "application/zip"}
)  # fmt: skip


def download_type(declared: str, head: bytes) -> str:
    """The content type a download is sent with: the declared one when it is harmless to
    name (and, for a previewable image, its bytes agree), else octet-stream."""
    kind = declared.split(";")[0].strip().lower()
    if kind not in DOWNLOAD_TYPES:
        return "application/octet-stream"
    if kind in PREVIEW_TYPES and not head.startswith(PREVIEW_TYPES[kind]):
        return "application/octet-stream"
    return kind


@router.get("/attachments/{attachment_id}")
async def download(
    request: Request, runtime: RuntimeDep, viewer: Reader, attachment_id: RowId
) -> Response:
    """An attachment as a download (``Content-Disposition: attachment``) with its type
    when that is harmless to name: never rendered in the page, never sniffed."""
    attachment, path = await _attachment_file(request, runtime, viewer, attachment_id)
    with path.open("rb") as handle:
        head = handle.read(16)
    return FileResponse(
        path,
        media_type=download_type(attachment.content_type, head),
        filename=_download_name(attachment.name),
        content_disposition_type="attachment",
        headers={
            "X-Content-Type-Options": "nosniff",
            "Cache-Control": "private, no-store",
            "Content-Security-Policy": "default-src 'none'; sandbox",
        },
    )


@router.get("/attachments/{attachment_id}/preview")
async def preview(
    request: Request, runtime: RuntimeDep, viewer: Reader, attachment_id: RowId
) -> Response:
    """An image attachment for ``<img>``: only PNG, JPEG, GIF, WebP whose bytes agree."""
    attachment, path = await _attachment_file(request, runtime, viewer, attachment_id)
    kind = attachment.content_type.split(";")[0].strip().lower()
    refusal = f"attachment {attachment_id} is not an image that can be previewed"
    return image_response(path.read_bytes(), kind, refusal=refusal)


def image_response(content: bytes, kind: str, *, refusal: str) -> Response:
    """An uploaded image for ``<img>``: only PNG, JPEG, GIF, WebP whose bytes agree with
    ``kind`` (else not found, saying ``refusal``), never run or sniffed as anything else."""
    if kind not in PREVIEW_TYPES or not content.startswith(PREVIEW_TYPES[kind]):
        raise NotFound(refusal)
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
