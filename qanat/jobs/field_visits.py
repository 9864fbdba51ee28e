"""Field inspections' work, as the pages, the API and the demo call it: create one from a
ticket (its whole cluster), and take a visit from the inspector's phone and act on its
decision. Who may do it is the caller's check (the web layer's permissions).

A visit is kept once per ``client_id`` (the phone makes one per visit), so a visit sent
again after a lost answer, or from the phone's outbox once back in signal, changes
nothing the second time. Its findings go on the timeline of every ticket the inspection
serves; "resolved on site" resolves them and their duplicates and tells every reporter;
"needs work" transfers them to the department named, with the inspector's reason, and
their SLA is counted again; "violation" marks them; "could not access" leaves the
inspection open for another visit. A fix far from the reported place is flagged.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from qanat.errors import BadPayload, NotFound
from qanat.ingest.intake import store_attachment_bytes
from qanat.jobs.deps import JobDeps
from qanat.model import OPEN_STATUSES, Attachment
from qanat.outbound import replies
from qanat.outbound.notices import send_due_notices, tell_citizens
from qanat.outbound.upstream import queue_status_updates
from qanat.router.pauses import recount_clocks
from qanat.store import actions, inspections
from qanat.store.access import Viewer, visible_ticket
from qanat.store.inspection_tables import Inspection, Visit
from qanat.store.links import duplicates_of, root_primary
from qanat.store.tables import Department, Ticket, User, utcnow

_OPEN = {s.value for s in OPEN_STATUSES}


@dataclass(frozen=True)
class VisitReport:
    """What the inspector's phone sends for one visit."""

    client_id: str
    decision: str
    observed_at: datetime | None = None
    lat: float | None = None
    lon: float | None = None
    accuracy: float | None = None
    answers: dict[str, str] = field(default_factory=dict)
    notes: str = ""
    department: str | None = None
    reason: str | None = None
    photos: list[Attachment] = field(default_factory=list)


async def _inspector_id(
    session: AsyncSession, username: str | None, block: str | None
) -> int | None:
    """The named inspector, else the one assignment picks (area first, then load)."""
    if username:
        person = (
            await session.execute(select(User).where(col(User.username) == username))
        ).scalar_one_or_none()
        if person is None or not person.active or person.role != inspections.INSPECTOR:
            raise BadPayload(f"{username!r} is not an active inspector")
        return person.id
    chosen = inspections.pick_inspector(await inspections.candidates(session), block)
    return chosen.user_id if chosen else None


@dataclass(frozen=True)
class Who:
    """Who acts and from where (for the events and the audit log)."""

    viewer: Viewer
    ip: str | None = None


async def create_inspection(
    runtime: JobDeps,
    who: Who,
    reference: str,
    *,
    what: str,
    inspector: str | None = None,
    due_at: datetime | None = None,
) -> Inspection:
    """An inspection for the ticket's whole cluster (its primary and every duplicate)."""
    async with runtime.db.writing() as session:
        ticket = await visible_ticket(session, viewer=who.viewer, reference=reference)
        primary = await root_primary(session, ticket)
        cluster = [primary, *await duplicates_of(session, ticket=primary)]
        for each in cluster:
            assert each.id is not None
            for held in await inspections.of_ticket(session, ticket_id=each.id):
                if held.status == inspections.OPEN:
                    raise BadPayload(f"{each.reference} already has open inspection {held.id}")
        template = await inspections.template_for(session, primary.category)
        return await inspections.create(
            session,
            tickets=cluster,
            what=what,
            inspector_id=await _inspector_id(session, inspector, primary.block),
            due_at=due_at or utcnow() + timedelta(hours=template.due_hours),
            checklist=list(template.items),
            actor=who.viewer.actor,
        )


async def _held(session: AsyncSession, viewer: Viewer, inspection_id: int) -> Inspection:
    """The inspection, if the viewer may record its visit (its inspector, or a supervisor)."""
    statement = select(Inspection).where(col(Inspection.id) == inspection_id)
    if session.get_bind().dialect.name == "postgresql":
        statement = statement.with_for_update()
    inspection = (await session.execute(statement)).scalar_one_or_none()
    mine = inspection is not None and inspection.inspector_id == viewer.user_id
    if inspection is None or (viewer.role == inspections.INSPECTOR and not mine):
        raise NotFound(f"no inspection {inspection_id}")
    return inspection


async def _check(session: AsyncSession, report: VisitReport) -> None:
    if report.decision not in inspections.DECISIONS:
        raise BadPayload(f"the decision is one of {', '.join(inspections.DECISIONS)}")
    if report.decision != "needs_work":
        return
    if not report.department or not (report.reason or "").strip():
        raise BadPayload("'needs work' names the department and says why")
    known = await session.execute(
        select(Department.id).where(col(Department.code) == report.department)
    )
    if known.scalar_one_or_none() is None:
        raise BadPayload(f"no department with code {report.department!r}")


def _visit(inspection: Inspection, viewer: Viewer, report: VisitReport, limit: float) -> Visit:
    distance = None
    if None not in (inspection.lat, inspection.lon, report.lat, report.lon):
        distance = round(
            inspections.distance_m(inspection.lat, inspection.lon, report.lat, report.lon),  # type: ignore[arg-type]
            1,
        )
    now = utcnow()
    assert inspection.id is not None
    return Visit(
        inspection_id=inspection.id,
        client_id=report.client_id,
        inspector_id=viewer.user_id,
        observed_at=min(report.observed_at or now, now),
        received_at=now,
        lat=report.lat,
        lon=report.lon,
        accuracy_m=report.accuracy,
        distance_m=distance,
        far=inspections.is_far(distance, report.accuracy, limit=limit),
        answers=report.answers,
        notes=report.notes.strip(),
        decision=report.decision,
        department=report.department if report.decision == "needs_work" else None,
        reason=(report.reason or "").strip() or None,
        photos=[p.model_dump(exclude={"content"}) for p in report.photos],
    )


def findings(visit: Visit, inspection: Inspection) -> dict[str, Any]:
    """What a visit found, as the tickets' timelines show it."""
    failed = [i for i in inspection.checklist if visit.answers.get(i["key"]) == "no"]
    return {
        "inspection_id": inspection.id,
        "visit_id": visit.id,
        "decision": visit.decision,
        "notes": visit.notes,
        "department": visit.department,
        "reason": visit.reason,
        "far": visit.far,
        "distance_m": visit.distance_m,
        "accuracy_m": visit.accuracy_m,
        "photos": len(visit.photos),
        "failed_items": [{"ar": i["ar"], "en": i["en"]} for i in failed],
    }


async def _act(
    session: AsyncSession, runtime: JobDeps, who: Who, tickets: list[Ticket], visit: Visit
) -> list[Ticket]:
    """The decision's effect on the tickets; those resolved (their reporters are told)."""
    resolved: list[Ticket] = []
    for ticket in tickets:
        if visit.decision == "resolved" and ticket.status in _OPEN:
            resolved.append(ticket)
            resolved += await actions.set_status(
                session, viewer=who.viewer, ticket=ticket, status="resolved", ip=who.ip,
                reason="resolved on site by the inspector",
            )  # fmt: skip
        elif visit.decision == "needs_work" and visit.department and visit.reason:
            target = await session.execute(
                select(Department.id).where(col(Department.code) == visit.department)
            )
            if ticket.department_id == target.scalar_one():
                continue
            moved = await actions.transfer(
                session, viewer=who.viewer, ticket=ticket, department=visit.department,
                reason=f"inspection: {visit.reason}", ip=who.ip,
            )  # fmt: skip
            for each in moved:
                await recount_clocks(
                    session, rules=runtime.rules(), tz=runtime.settings.tz, ticket=each,
                    actor=who.viewer.actor, reason=f"transferred to {visit.department}",
                )  # fmt: skip
        elif visit.decision == "violation" and "violation" not in ticket.flags:
            ticket.flags = [*ticket.flags, "violation"]
            session.add(ticket)
    return list({t.id: t for t in resolved}.values())


async def submit_visit(
    runtime: JobDeps, who: Who, inspection_id: int, report: VisitReport
) -> tuple[Visit, bool]:
    """Keep a visit (once per ``client_id``) and act on its decision; the visit and whether
    this call made it."""
    settings = runtime.settings
    photos = [
        store_attachment_bytes(
            p, folder=settings.attachments_dir, max_bytes=settings.photo_max_bytes
        )
        for p in report.photos
    ]
    report = VisitReport(**{**report.__dict__, "photos": photos})
    async with runtime.db.writing() as session:
        inspection = await _held(session, who.viewer, inspection_id)
        known = await inspections.visit_by_client_id(session, report.client_id)
        if known is not None:
            return known, False
        await _check(session, report)
        visit, _made = await inspections.record_visit(
            session,
            inspection=inspection,
            visit=_visit(inspection, who.viewer, report, settings.visit_far_metres),
        )
        tickets = await inspections.tickets_of(session, inspection_id=inspection_id)
        for ticket in tickets:
            await actions.record(
                session, viewer=who.viewer, ticket=ticket, type="inspection_visited",
                data=findings(visit, inspection), ip=who.ip,
            )  # fmt: skip
        resolved = await _act(session, runtime, who, tickets, visit)
        noticed = await tell_citizens(
            session, settings=settings, tickets=resolved, kind="resolved", survey=True
        )
    await send_due_notices(runtime, ticket_ids=noticed)
    untold = [t for t in resolved if t.id not in noticed]
    if untold:  # the citizen's loop: every reporter hears it was fixed
        await replies.tell_reporters(runtime, tickets=untold, viewer=who.viewer, ip=who.ip)
    await queue_status_updates(runtime, ticket_ids=[t.id for t in tickets if t.id])
    return visit, True
