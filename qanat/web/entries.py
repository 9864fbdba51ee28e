"""Staff log calls and in-person contacts (page ``/log`` and ``/api/entries``), and work
the missed-call list (``/api/calls/missed``).

One form serves the call centre and the majlis, council, field visit, walk-in and letter
channels; an entry is saved through the intake like any message. A logged call is
joined to the telephone system's record of it when that was imported first.
"""

from __future__ import annotations

import secrets
from datetime import datetime
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError
from sqlmodel import col, select

from qanat.errors import BadPayload, NotFound
from qanat.ingest.call_centre import link_logged_call, mark_called_back, missed_calls
from qanat.ingest.staff_entry import STAFF_CHANNELS, StaffEntry, entry_inbound
from qanat.model import Kind
from qanat.runtime import Runtime
from qanat.store import audit
from qanat.store.access import Viewer
from qanat.store.tables import CallRecord, Ticket, utcnow
from qanat.web import schemas
from qanat.web.auth import Worker, client_ip
from qanat.web.deps import RowId, RuntimeDep
from qanat.web.public_intake import Saved, save_report
from qanat.web.templating import page

router = APIRouter(include_in_schema=False)
api_router = APIRouter(tags=["call centre and field entries"])

#: The form's fields, as :class:`StaffEntry` names them.
FIELDS = tuple(StaffEntry.model_fields)


async def log_entry(runtime: Runtime, viewer: Viewer, entry: StaffEntry, ip: str | None) -> Saved:
    """Save a staff entry through the intake; a call joins its telephone record."""
    inbound = entry_inbound(
        entry, username=viewer.username, region=runtime.settings.default_region, now=utcnow()
    )
    saved = await save_report(runtime, inbound)
    async with runtime.db.writing() as session:
        ticket_id = None
        if saved.reference is not None:
            found = await session.execute(
                select(Ticket.id).where(col(Ticket.reference) == saved.reference)
            )
            ticket_id = found.scalar_one_or_none()
        if ticket_id is not None and inbound.channel == "call_centre" and inbound.sender.phone:
            await link_logged_call(
                session,
                caller_e164=inbound.sender.phone,
                logged_at=inbound.received_at,
                ticket_id=ticket_id,
            )
        detail = {"channel": inbound.channel, "reference": saved.reference}
        await audit.record(
            session, viewer=viewer, action="entry_logged", ticket_id=ticket_id, detail=detail, ip=ip
        )
    return saved


def _occurred(value: str, runtime: Runtime) -> str:
    """A ``datetime-local`` field (local time, no offset) as an aware ISO time."""
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return value  # the model refuses it, with the reason
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=runtime.settings.tz)
    return moment.isoformat()


async def _page(
    request: Request, runtime: Runtime, viewer: Viewer, *, status_code: int = 200, **context: Any
) -> Response:
    async with runtime.db.session() as session:
        waiting = await missed_calls(session)
    categories = [
        (c.code, c.name_ar if viewer.language == "ar" else c.name_en)
        for d in runtime.rules().departments
        for c in d.categories
    ]
    values: dict[str, str] = context.pop("values", {})
    return page(
        request,
        "log.html",
        viewer=viewer,
        status_code=status_code,
        channels=STAFF_CHANNELS,
        kinds=[k.value for k in Kind],
        categories=categories,
        missed=waiting,
        client_id=secrets.token_urlsafe(18),
        values=values,
        **{"error": None, "reference": None, "queued": False, **context},
    )


@router.get("/log")
async def log_form(request: Request, runtime: RuntimeDep, viewer: Worker) -> Response:
    """The form to log a call or an in-person contact, and the missed calls to return."""
    return await _page(request, runtime, viewer)


@router.post("/log")
async def log_submit(request: Request, runtime: RuntimeDep, viewer: Worker) -> Response:
    """Log the entry; the page says its reference."""
    form = await request.form(max_files=0)
    values = {k: v for k in FIELDS if isinstance(v := form.get(k, ""), str)}
    given: dict[str, Any] = {k: v for k, v in values.items() if v}
    if "occurred_at" in given:
        given["occurred_at"] = _occurred(given["occurred_at"], runtime)
    try:
        entry = StaffEntry.model_validate(given)
        saved = await log_entry(runtime, viewer, entry, client_ip(request))
    except ValidationError as exc:
        reason = "; ".join(str(e["msg"]).removeprefix("Value error, ") for e in exc.errors())
        return await _page(request, runtime, viewer, status_code=400, error=reason, values=values)
    except BadPayload as exc:
        return await _page(request, runtime, viewer, status_code=400, error=str(exc), values=values)
    return await _page(
        request, runtime, viewer, reference=saved.reference, queued=saved.reference is None
    )


@router.post("/calls/{record_id}/called-back")
async def called_back_form(
    request: Request, runtime: RuntimeDep, viewer: Worker, record_id: RowId
) -> Response:
    """Take a missed call off the list from the page."""
    await _called_back(runtime, viewer, record_id, client_ip(request))
    return RedirectResponse("/log", status_code=303)


async def _called_back(runtime: Runtime, viewer: Viewer, record_id: int, ip: str | None) -> None:
    async with runtime.db.writing() as session:
        if not await mark_called_back(session, record_id=record_id, at=utcnow()):
            raise NotFound(f"no missed call {record_id} waiting to be returned")
        await audit.record(
            session, viewer=viewer, action="called_back", detail={"call": record_id}, ip=ip
        )


@api_router.post(
    "/entries", status_code=201, response_model=schemas.Entry, response_model_exclude_unset=True
)
async def post_entry(
    request: Request, runtime: RuntimeDep, viewer: Worker, body: StaffEntry
) -> dict[str, Any]:
    """Log a call, majlis, council, field visit, walk-in or letter entry (``client_id``
    makes a retry safe); answers the ticket's reference once processed."""
    saved = await log_entry(runtime, viewer, body, client_ip(request))
    return {"reference": saved.reference, "receipt": saved.receipt, "created": saved.created}


def _call_public(call: CallRecord) -> dict[str, Any]:
    return {
        "id": call.id,
        "caller": call.caller_e164 or call.caller,
        "started_at": call.started_at.isoformat(),
        "disposition": call.disposition,
    }


@api_router.get(
    "/calls/missed", response_model=list[schemas.MissedCall], response_model_exclude_unset=True
)
async def list_missed(runtime: RuntimeDep, viewer: Worker) -> list[dict[str, Any]]:
    """Unanswered calls not yet returned (oldest first)."""
    async with runtime.db.session() as session:
        return [_call_public(call) for call in await missed_calls(session)]


@api_router.post(
    "/calls/{record_id}/called-back",
    response_model=schemas.CalledBack,
    response_model_exclude_unset=True,
)
async def post_called_back(
    request: Request, runtime: RuntimeDep, viewer: Worker, record_id: RowId
) -> dict[str, int]:
    """Take a missed call off the call-back list."""
    await _called_back(runtime, viewer, record_id, client_ip(request))
    return {"called_back": record_id}
