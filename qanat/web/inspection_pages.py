"""The supervisors' view of field inspections: by state, overdue visits, each inspector's
load, a map, visits flagged far from the place; one inspection with its visits and photos;
the admins' checklists per category. JSON for the same under ``/api/inspections``.
"""

from __future__ import annotations

from collections import Counter
from datetime import timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from qanat.errors import NotFound
from qanat.store import audit, inspections
from qanat.store.access import Viewer, is_visible
from qanat.store.inspection_tables import Inspection, Visit
from qanat.store.tables import User, utcnow
from qanat.web import schemas
from qanat.web.auth import Admin, InspectionSupervisor, client_ip, may
from qanat.web.deps import RuntimeDep
from qanat.web.field_json import inspection_json
from qanat.web.maps import map_context, with_map_policy
from qanat.web.templating import page
from qanat.web.ticket_pages import image_response

router = APIRouter(include_in_schema=False)
api_router = APIRouter(prefix="/inspections", tags=["inspections"])

STATES = (inspections.OPEN, inspections.VISITED, inspections.CANCELLED)


def _scope(viewer: Viewer) -> int | None:
    """A supervisor sees their department's inspections; an admin every one."""
    return None if viewer.role == "admin" else viewer.department_id or -1


async def overview(session: AsyncSession, viewer: Viewer) -> dict[str, Any]:
    """Everything the supervisors' page shows."""
    now = utcnow()
    every = await inspections.listing(session, department_id=_scope(viewer), limit=2000)
    people = {
        u.id: u
        for u in (
            await session.execute(select(User).where(col(User.role) == inspections.INSPECTOR))
        ).scalars()
    }
    visits = await inspections.visits_of(session, inspection_ids=[i.id for i in every if i.id])
    week = [v for v in visits if v.received_at >= now - timedelta(days=7)]
    load = Counter(i.inspector_id for i in every if i.status == inspections.OPEN)
    return {
        "states": Counter(i.status for i in every),
        "open": [i for i in every if i.status == inspections.OPEN],
        "overdue": [i for i in every if i.status == inspections.OPEN and i.due_at < now],
        "people": people,
        "load": [
            {
                "user": person,
                "open": load.get(uid, 0),
                "visits_week": sum(1 for v in week if v.inspector_id == uid),
                "far_week": sum(1 for v in week if v.inspector_id == uid and v.far),
            }
            for uid, person in sorted(people.items(), key=lambda p: p[1].username)
        ],
        "unassigned": load.get(None, 0),
        "far": [v for v in visits if v.far][:50],
        "resolved_on_site": sum(1 for v in week if v.decision == "resolved"),
        "visits_week": len(week),
        "now": now,
    }


@router.get("/inspections")
async def inspections_page(
    request: Request, runtime: RuntimeDep, viewer: InspectionSupervisor
) -> Response:
    """Inspections by state, overdue visits, inspectors' load, the map, far visits."""
    async with runtime.db.session() as session:
        context = await overview(session, viewer)
    response = page(
        request,
        "inspections.html",
        viewer=viewer,
        **context,
        **map_context(runtime.settings),
    )
    return with_map_policy(response, runtime.settings)


async def _visible(session: AsyncSession, viewer: Viewer, inspection: Inspection) -> bool:
    """Supervisors and admins of its department, its inspector, staff who see its tickets."""
    if may(viewer, "inspections.supervise") and _scope(viewer) in (None, inspection.department_id):
        return True
    if inspection.inspector_id == viewer.user_id:
        return True
    assert inspection.id is not None
    for ticket in await inspections.tickets_of(session, inspection_id=inspection.id):
        if ticket.id is not None and await is_visible(session, viewer=viewer, ticket_id=ticket.id):
            return True
    return False


@router.get("/inspections/{inspection_id}")
async def inspection_page(
    request: Request, runtime: RuntimeDep, viewer: InspectionSupervisor, inspection_id: int
) -> Response:
    """One inspection: its tickets, its visits (findings, photos, GPS) and the map."""
    async with runtime.db.session() as session:
        inspection = await session.get(Inspection, inspection_id)
        if inspection is None or not await _visible(session, viewer, inspection):
            raise NotFound(f"no inspection {inspection_id}")
        tickets = await inspections.tickets_of(session, inspection_id=inspection_id)
        visits = await inspections.visits_of(session, inspection_ids=[inspection_id])
        inspector = await session.get(User, inspection.inspector_id or 0)
    response = page(
        request,
        "inspection.html",
        viewer=viewer,
        inspection=inspection,
        tickets=tickets,
        visits=visits,
        inspector=inspector,
        overdue=inspection.status == inspections.OPEN and inspection.due_at < utcnow(),
        **map_context(runtime.settings),
    )
    return with_map_policy(response, runtime.settings)


@router.get("/inspections/visits/{visit_id}/photos/{number}")
async def visit_photo(
    request: Request, runtime: RuntimeDep, viewer: InspectionSupervisor, visit_id: int, number: int
) -> Response:
    """A visit's photo, for ``<img>``: only the image types whose bytes agree."""
    async with runtime.db.writing() as session:
        visit = await session.get(Visit, visit_id)
        inspection = await session.get(Inspection, visit.inspection_id) if visit else None
        if visit is None or inspection is None or not await _visible(session, viewer, inspection):
            raise NotFound(f"no visit {visit_id}")
        if not 1 <= number <= len(visit.photos):
            raise NotFound(f"visit {visit_id} has no photo {number}")
        photo = visit.photos[number - 1]
        detail = {"visit_id": visit_id, "photo": number}
        await audit.record(
            session, viewer=viewer, action="view_visit_photo", detail=detail, ip=client_ip(request)
        )
    folder = runtime.settings.attachments_dir.resolve()
    path = (folder / str(photo.get("stored_at") or "")).resolve()
    kind = str(photo.get("content_type", ""))
    if not photo.get("stored_at") or not path.is_relative_to(folder) or not path.is_file():
        raise NotFound(f"photo {number} of visit {visit_id} was not kept")
    refusal = f"photo {number} of visit {visit_id} cannot be shown"
    return image_response(path.read_bytes(), kind, refusal=refusal)


@router.get("/admin/checklists")
async def checklists_page(request: Request, runtime: RuntimeDep, viewer: Admin) -> Response:
    """Every category's checklist and visit SLA, editable."""
    async with runtime.db.session() as session:
        rows = {row.category: row for row in await inspections.templates(session)}
    categories = [
        (c.code, c.name_ar if viewer.language == "ar" else c.name_en)
        for d in runtime.rules().departments
        for c in d.categories
    ]
    return page(
        request,
        "checklists.html",
        viewer=viewer,
        rows=rows,
        categories=[(inspections.DEFAULT_CATEGORY, "*"), *categories],
        default_items=inspections.DEFAULT_ITEMS,
        done=request.query_params.get("done"),
    )


@router.post("/admin/checklists")
async def save_checklist(
    request: Request,
    runtime: RuntimeDep,
    viewer: Admin,
    category: Annotated[str, Form(max_length=80)],
    items: Annotated[str, Form(max_length=20_000)],
    due_hours: Annotated[float, Form()] = 48,
) -> Response:
    """Save one category's checklist (``Arabic | English`` a line) and its visit SLA."""
    async with runtime.db.writing() as session:
        await inspections.set_template(
            session,
            category=category,
            items=inspections.checklist_items(items),
            due_hours=due_hours,
            by=viewer.actor,
        )
        detail = {"category": category}
        await audit.record(
            session, viewer=viewer, action="checklist_saved", detail=detail, ip=client_ip(request)
        )
    return RedirectResponse("/admin/checklists?done=saved", status_code=303)


@api_router.get(
    "", response_model=list[schemas.InspectionAnswer], response_model_exclude_unset=True
)
async def list_inspections(
    runtime: RuntimeDep, viewer: InspectionSupervisor, status: str | None = None
) -> list[dict[str, Any]]:
    """Inspections (of the viewer's department; every one for admins), soonest due first."""
    async with runtime.db.session() as session:
        rows = await inspections.listing(session, status=status, department_id=_scope(viewer))
    return [inspection_json(row) for row in rows]


@api_router.get(
    "/{inspection_id}", response_model=schemas.InspectionDetail, response_model_exclude_unset=True
)
async def get_inspection(
    runtime: RuntimeDep, viewer: InspectionSupervisor, inspection_id: int
) -> dict[str, Any]:
    """One inspection, its tickets' references and its visits."""
    async with runtime.db.session() as session:
        inspection = await session.get(Inspection, inspection_id)
        if inspection is None or not await _visible(session, viewer, inspection):
            raise NotFound(f"no inspection {inspection_id}")
        tickets = await inspections.tickets_of(session, inspection_id=inspection_id)
        visits = await inspections.visits_of(session, inspection_ids=[inspection_id])
    found = inspection_json(inspection, [t.reference for t in tickets])
    found["visits"] = [
        v.model_dump(exclude={"photos"}, mode="json") | {"photos": len(v.photos)} for v in visits
    ]
    return found
