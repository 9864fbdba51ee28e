"""The ticket page's forms: each POST (CSRF-checked) does one action and returns to the page."""

from __future__ import annotations

from typing import Annotated, cast

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from qanat.errors import BadPayload
from qanat.model import Visibility
from qanat.web import work
from qanat.web.auth import Reader, client_ip
from qanat.web.deps import RowId, RuntimeDep

router = APIRouter(include_in_schema=False)

Text = Annotated[str, Form(max_length=10_000)]
ShortText = Annotated[str, Form(max_length=2000)]


def back(reference: str, done: str) -> Response:
    """Back to the ticket, saying what was done (303: the browser then GETs the page)."""
    return RedirectResponse(f"/tickets/{reference}?done={done}", status_code=303)


def who(request: Request, viewer: Reader) -> work.Request:
    """The acting viewer and their address."""
    return work.Request(viewer=viewer, ip=client_ip(request))


@router.post("/tickets/{reference}/reply")
async def reply(
    request: Request,
    runtime: RuntimeDep,
    viewer: Reader,
    reference: str,
    text: Text,
    visibility: ShortText = "",
) -> Response:
    """Reply on the citizen's channel (on X, publicly or privately as staff chose)."""
    if visibility not in ("", "public", "private"):
        raise BadPayload(f"visibility is public or private, not {visibility!r}")
    chosen = cast(Visibility, visibility) if visibility else None
    result = await work.reply(runtime, who(request, viewer), reference, text, chosen)
    return back(reference, f"reply_{result.state}")


@router.post("/tickets/{reference}/note")
async def note(
    request: Request, runtime: RuntimeDep, viewer: Reader, reference: str, text: Text
) -> Response:
    """Add an internal note."""
    await work.note(runtime, who(request, viewer), reference, text)
    return back(reference, "note")


@router.post("/tickets/{reference}/take")
async def take(request: Request, runtime: RuntimeDep, viewer: Reader, reference: str) -> Response:
    """Take the ticket."""
    await work.take(runtime, who(request, viewer), reference)
    return back(reference, "assigned")


@router.post("/tickets/{reference}/assign")
async def assign(
    request: Request, runtime: RuntimeDep, viewer: Reader, reference: str, username: ShortText = ""
) -> Response:
    """Give the ticket to a member of its department (blank: nobody)."""
    await work.assign(runtime, who(request, viewer), reference, username.strip() or None)
    return back(reference, "assigned")


@router.post("/tickets/{reference}/transfer")
async def transfer(
    request: Request,
    runtime: RuntimeDep,
    viewer: Reader,
    reference: str,
    department: Annotated[str, Form(max_length=60)],
    reason: ShortText,
) -> Response:
    """Transfer to another department; the inbox follows (the ticket may leave one's view)."""
    await work.transfer(runtime, who(request, viewer), reference, department, reason)
    return RedirectResponse(f"/inbox?transferred={reference}", status_code=303)


@router.post("/tickets/{reference}/status")
async def status(
    request: Request,
    runtime: RuntimeDep,
    viewer: Reader,
    reference: str,
    status: Annotated[str, Form(max_length=20)],
    resolution_text: Text = "",
) -> Response:
    """Change the status (resolving tells the duplicates' citizens)."""
    await work.update(
        runtime, who(request, viewer), reference, status=status, resolution_text=resolution_text
    )
    return back(reference, "status")


@router.post("/tickets/{reference}/change")
async def change(
    request: Request,
    runtime: RuntimeDep,
    viewer: Reader,
    reference: str,
    kind: ShortText = "",
    priority: ShortText = "",
) -> Response:
    """Correct the kind or priority."""
    await work.update(
        runtime, who(request, viewer), reference, kind=kind or None, priority=priority or None
    )
    return back(reference, "changed")


@router.post("/tickets/{reference}/link")
async def link(
    request: Request,
    runtime: RuntimeDep,
    viewer: Reader,
    reference: str,
    primary_reference: Annotated[str, Form(max_length=30)],
) -> Response:
    """Link as a duplicate of another ticket."""
    await work.link(runtime, who(request, viewer), reference, primary_reference)
    return back(reference, "linked")


@router.post("/tickets/{reference}/unlink")
async def unlink(request: Request, runtime: RuntimeDep, viewer: Reader, reference: str) -> Response:
    """Make a duplicate independent."""
    await work.unlink(runtime, who(request, viewer), reference)
    return back(reference, "unlinked")


@router.post("/tickets/{reference}/replies/{message_id}/delivered")
async def delivered(
    request: Request, runtime: RuntimeDep, viewer: Reader, reference: str, message_id: RowId
) -> Response:
    """Mark a by-hand reply delivered."""
    await work.delivered(runtime, who(request, viewer), reference, message_id)
    return back(reference, "delivered")


@router.post("/tickets/{reference}/merge-contact")
async def merge_contact(
    request: Request,
    runtime: RuntimeDep,
    viewer: Reader,
    reference: str,
    other: Annotated[str, Form(max_length=30)],
) -> Response:
    """Merge another ticket's citizen into this one's."""
    await work.merge_contact(runtime, who(request, viewer), reference, other)
    return back(reference, "merged")


@router.post("/tickets/{reference}/unmerge-contact")
async def unmerge_contact(
    request: Request,
    runtime: RuntimeDep,
    viewer: Reader,
    reference: str,
    merge_id: Annotated[int, Form()],
) -> Response:
    """Undo a contact merge."""
    await work.unmerge_contact(runtime, who(request, viewer), reference, merge_id)
    return back(reference, "unmerged")
