"""The inspector's phone: today's visits nearest first, one visit's form, and the API the
form posts to (kept once per ``client_id``, so the phone's outbox may send it again).

``/inspect`` lists the inspector's open inspections; with ``?lat=&lon=`` (the page asks
the phone where it is) they are ordered by distance, else by due time. ``/inspect/{id}``
is the visit form: the checklist, notes, photos from the camera, the GPS fix and its
accuracy, and the decision. The page's script keeps a submission in the phone's outbox
until the server has it (see ``static/inspect.js``).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select
from starlette.datastructures import FormData, UploadFile

from qanat.errors import BadPayload, NotFound
from qanat.ingest.webform import check_photo
from qanat.jobs import field_visits as field_work
from qanat.model import Attachment
from qanat.store import inspections
from qanat.store.access import Viewer
from qanat.store.inspection_tables import Inspection
from qanat.store.tables import Department, Message, utcnow
from qanat.web import schemas
from qanat.web.auth import Inspector, client_ip
from qanat.web.deps import RuntimeDep
from qanat.web.limits import read_limited
from qanat.web.maps import map_context, with_map_policy
from qanat.web.templating import page

router = APIRouter(include_in_schema=False)
api_router = APIRouter(prefix="/inspections", tags=["inspections"])

#: Room for the form's fields around its photos.
FORM_SLACK = 64 * 1024


def _number(value: str | None, low: float, high: float, name: str) -> float | None:
    if value is None or not value.strip():
        return None
    try:
        number = float(value)
    except ValueError as exc:
        raise BadPayload(f"{name} must be a number") from exc
    if not low <= number <= high:
        raise BadPayload(f"{name} must be between {low:g} and {high:g}")
    return number


def card(inspection: Inspection, here: tuple[float, float] | None) -> dict[str, Any]:
    """One inspection as the list shows it (with its distance from the phone, if known)."""
    distance = None
    if here is not None and inspection.lat is not None and inspection.lon is not None:
        distance = inspections.distance_m(here[0], here[1], inspection.lat, inspection.lon)
    return {
        "inspection": inspection,
        "distance_km": None if distance is None else round(distance / 1000, 2),
        "overdue": inspection.due_at < utcnow(),
    }


def ordered(cards: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Nearest first when the phone's place is known (unknown places last), else soonest due."""
    return sorted(
        cards,
        key=lambda c: (
            c["distance_km"] is None,
            c["distance_km"] or 0.0,
            c["inspection"].due_at,
        ),
    )


def _here(request: Request) -> tuple[float, float] | None:
    lat = _number(request.query_params.get("lat"), -90, 90, "lat")
    lon = _number(request.query_params.get("lon"), -180, 180, "lon")
    return (lat, lon) if lat is not None and lon is not None else None


async def _mine(session: AsyncSession, viewer: Viewer) -> list[Inspection]:
    mine = viewer.user_id if viewer.role == inspections.INSPECTOR else None
    return await inspections.listing(session, status=inspections.OPEN, inspector_id=mine)


@router.get("/inspect")
async def visits_page(request: Request, runtime: RuntimeDep, viewer: Inspector) -> Response:
    """Today's visits, nearest first, each with its place on the map."""
    here = _here(request)
    async with runtime.db.session() as session:
        cards = ordered([card(i, here) for i in await _mine(session, viewer)])
    response = page(
        request,
        "inspect_list.html",
        viewer=viewer,
        cards=cards,
        here=here,
        done=request.query_params.get("done"),
        **map_context(runtime.settings),
    )
    return with_map_policy(response, runtime.settings)


async def _citizen_texts(session: AsyncSession, ticket_ids: list[int]) -> dict[int, str]:
    """What each ticket's citizen first wrote (the inspector reads the complaint, no contact)."""
    rows = await session.execute(
        select(Message.ticket_id, Message.text)
        .where(col(Message.ticket_id).in_(ticket_ids), col(Message.direction) == "in")
        .order_by(col(Message.id).desc())
    )
    return {ticket_id: text for ticket_id, text in rows if ticket_id is not None}


@router.get("/inspect/{inspection_id}")
async def visit_form(
    request: Request, runtime: RuntimeDep, viewer: Inspector, inspection_id: int
) -> Response:
    """One visit's form: checklist, notes, photos, GPS fix, decision."""
    async with runtime.db.session() as session:
        inspection = await session.get(Inspection, inspection_id)
        mine = inspection is not None and inspection.inspector_id == viewer.user_id
        if inspection is None or (viewer.role == inspections.INSPECTOR and not mine):
            raise NotFound(f"no inspection {inspection_id}")
        tickets = await inspections.tickets_of(session, inspection_id=inspection_id)
        texts = await _citizen_texts(session, [t.id for t in tickets if t.id])
        departments = list(
            (await session.execute(select(Department).order_by(col(Department.code)))).scalars()
        )
    response = page(
        request,
        "inspect_visit.html",
        viewer=viewer,
        inspection=inspection,
        tickets=[(t, texts.get(t.id or 0, "")) for t in tickets],
        departments=departments,
        decisions=inspections.DECISIONS,
        photo_count=runtime.settings.photos_per_report,
        **map_context(runtime.settings),
    )
    return with_map_policy(response, runtime.settings)


async def _photos(form: FormData, max_bytes: int, count: int) -> list[Attachment]:
    uploads = [f for f in form.getlist("photos") if isinstance(f, UploadFile) and f.filename]
    if len(uploads) > count:
        raise BadPayload(f"at most {count} photos a visit")
    return [
        check_photo(
            u.filename or f"photo-{n}", await u.read(max_bytes + 1), max_bytes=max_bytes, number=n
        )
        for n, u in enumerate(uploads, start=1)
    ]


def _field(form: FormData, name: str, limit: int = 2000) -> str:
    value = form.get(name)
    text = value.strip() if isinstance(value, str) else ""
    if len(text) > limit:
        raise BadPayload(f"{name} is longer than {limit} characters")
    return text


def _when(value: str) -> datetime | None:
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as exc:
        raise BadPayload("observed_at must be an ISO 8601 time") from exc
    if moment.tzinfo is None:
        raise BadPayload("observed_at needs its offset")
    return moment


async def report_of(form: FormData, *, max_bytes: int, count: int) -> field_work.VisitReport:
    """The visit a posted form describes; :class:`BadPayload` says what is wrong."""
    client_id = _field(form, "client_id", 100)
    if len(client_id) < 8:
        raise BadPayload("client_id is required (the phone makes one per visit)")
    answers = {
        key.removeprefix("answer."): value
        for key, value in form.multi_items()
        if key.startswith("answer.") and isinstance(value, str) and value in ("yes", "no", "na")
    }
    return field_work.VisitReport(
        client_id=client_id,
        decision=_field(form, "decision", 20),
        observed_at=_when(_field(form, "observed_at", 40)),
        lat=_number(_field(form, "lat", 40), -90, 90, "lat"),
        lon=_number(_field(form, "lon", 40), -180, 180, "lon"),
        accuracy=_number(_field(form, "accuracy", 40), 0, 100_000, "accuracy"),
        answers=answers,
        notes=_field(form, "notes", 4000),
        department=_field(form, "department", 60) or None,
        reason=_field(form, "reason", 2000) or None,
        photos=await _photos(form, max_bytes, count),
    )


@api_router.post(
    "/{inspection_id}/visits",
    status_code=201,
    responses={
        201: {"model": schemas.VisitRecorded, "description": "a new visit"},
        200: {"model": schemas.VisitRecorded, "description": "this client_id was sent before"},
    },
)
async def post_visit(
    request: Request, runtime: RuntimeDep, viewer: Inspector, inspection_id: int
) -> Response:
    """Record a visit (multipart form): 201 when new, 200 when this ``client_id`` was sent
    before (nothing is done twice)."""
    settings = runtime.settings
    count = max(1, settings.photos_per_report)
    limit = count * settings.photo_max_bytes + FORM_SLACK
    form = await (await read_limited(request, limit)).form(max_files=count, max_fields=100)
    try:
        report = await report_of(form, max_bytes=settings.photo_max_bytes, count=count)
    finally:
        await form.close()
    who = field_work.Who(viewer=viewer, ip=client_ip(request))
    visit, created = await field_work.submit_visit(runtime, who, inspection_id, report)
    answer = {
        "visit_id": visit.id,
        "created": created,
        "decision": visit.decision,
        "far": visit.far,
        "distance_m": visit.distance_m,
        "photos": len(visit.photos),
    }
    return JSONResponse(answer, status_code=201 if created else 200)
