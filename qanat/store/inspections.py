"""Field inspections in the store: checklists, inspectors' areas and load, inspections and
the tickets they serve, and visits (once per phone submission).

Pure helpers (:func:`distance_m`, :func:`pick_inspector`, :func:`parse_blocks`) sit
beside the queries that feed them.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from qanat.errors import BadPayload
from qanat.store import queries
from qanat.store.inspection_tables import (
    ChecklistTemplate,
    Inspection,
    InspectionTicket,
    InspectorArea,
    Visit,
)
from qanat.store.tables import Ticket, User, utcnow

INSPECTOR = "inspector"
#: What an inspector may decide on site.
DECISIONS = ("resolved", "needs_work", "violation", "no_access")
#: Inspection states: waiting for a visit, visited (decided), cancelled.
OPEN, VISITED, CANCELLED = "open", "visited", "cancelled"
#: The checklist used where a category has none of its own.
DEFAULT_CATEGORY = "*"
DEFAULT_ITEMS = [
    {"key": "found", "ar": "المشكلة موجودة في الموقع", "en": "The problem is there"},
    {"key": "safe", "ar": "الموقع آمن للمارة", "en": "The place is safe for passers-by"},
    {"key": "photo", "ar": "صُوّر الموقع", "en": "The place was photographed"},
]
_EARTH_M = 6_371_000.0


def distance_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Metres between two WGS84 points (haversine: plenty for a town's distances)."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * _EARTH_M * math.asin(math.sqrt(a))


def is_far(distance: float | None, accuracy: float | None, *, limit: float) -> bool:
    """A fix is far from the place when, even allowing for its accuracy, it is over the limit."""
    return distance is not None and distance - (accuracy or 0.0) > limit


def parse_blocks(text: str) -> list[str]:
    """Blocks written as ``301-319, 905``: each block once, in order."""
    found: list[str] = []
    for part in text.replace("،", ",").split(","):
        first, _, last = part.strip().partition("-")
        if not first:
            continue
        if not first.isdigit() or (last and not last.strip().isdigit()):
            raise BadPayload(f"{part.strip()!r} is not a block or a range of blocks")
        end = int(last) if last else int(first)
        found += [str(n) for n in range(int(first), end + 1)]
    return list(dict.fromkeys(found))


@dataclass(frozen=True)
class Candidate:
    """An inspector as assignment sees them: who, the blocks they cover, their open load."""

    user_id: int
    username: str
    blocks: frozenset[str]
    load: int


def pick_inspector(candidates: Sequence[Candidate], block: str | None) -> Candidate | None:
    """Who goes: those who cover the block first, then the least loaded, then by name."""
    if not candidates:
        return None
    return min(
        candidates,
        key=lambda c: (block is None or block not in c.blocks, c.load, c.username),
    )


async def template_for(session: AsyncSession, category: str | None) -> ChecklistTemplate:
    """The category's checklist, else the default one (made on first use)."""
    wanted = [category, DEFAULT_CATEGORY] if category else [DEFAULT_CATEGORY]
    rows = (
        await session.execute(
            select(ChecklistTemplate).where(col(ChecklistTemplate.category).in_(wanted))
        )
    ).scalars()
    found = {row.category: row for row in rows}
    if category in found:
        return found[category]
    return found.get(DEFAULT_CATEGORY) or ChecklistTemplate(
        category=DEFAULT_CATEGORY, items=DEFAULT_ITEMS
    )


async def templates(session: AsyncSession) -> list[ChecklistTemplate]:
    """Every checklist, by category."""
    statement = select(ChecklistTemplate).order_by(col(ChecklistTemplate.category))
    return list((await session.execute(statement)).scalars())


def checklist_items(text: str) -> list[dict[str, str]]:
    """Checklist lines ``Arabic | English`` (one item a line) as items with stable keys."""
    items = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        arabic, _, english = line.partition("|")
        arabic, english = arabic.strip(), english.strip() or arabic.strip()
        items.append({"key": f"item{number}", "ar": arabic or english, "en": english})
    if not items:
        raise BadPayload("a checklist needs at least one item")
    return items


async def set_template(
    session: AsyncSession, *, category: str, items: list[dict[str, str]], due_hours: float, by: str
) -> ChecklistTemplate:
    """Write a category's checklist and its visit SLA (hours)."""
    if not 0 < due_hours <= 24 * 60:
        raise BadPayload("the visit must be due within 1 to 1440 hours")
    row = (
        await session.execute(
            select(ChecklistTemplate).where(col(ChecklistTemplate.category) == category)
        )
    ).scalar_one_or_none() or ChecklistTemplate(category=category)
    row.items, row.due_hours, row.updated_by, row.updated_at = items, due_hours, by, utcnow()
    session.add(row)
    await session.flush()
    return row


async def set_areas(session: AsyncSession, *, user_id: int, blocks: Sequence[str]) -> None:
    """The blocks an inspector covers (replacing those before)."""
    await session.execute(delete(InspectorArea).where(col(InspectorArea.user_id) == user_id))
    for block in blocks:
        session.add(InspectorArea(user_id=user_id, block=block))
    await session.flush()


async def candidates(session: AsyncSession) -> list[Candidate]:
    """Every active inspector, with the blocks they cover and their open inspections."""
    people = (
        await session.execute(
            select(User.id, User.username).where(
                col(User.role) == INSPECTOR, col(User.active).is_(True)
            )
        )
    ).all()
    areas: dict[int, set[str]] = {}
    for user_id, block in await session.execute(select(InspectorArea.user_id, InspectorArea.block)):
        areas.setdefault(user_id, set()).add(block)
    loads = await open_loads(session)
    return [
        Candidate(uid, name, frozenset(areas.get(uid, set())), loads.get(uid, 0))
        for uid, name in people
        if uid is not None
    ]


async def open_loads(session: AsyncSession) -> dict[int, int]:
    """Inspector id → open inspections they hold."""
    rows = await session.execute(
        select(Inspection.inspector_id, func.count())
        .where(col(Inspection.status) == OPEN, col(Inspection.inspector_id).is_not(None))
        .group_by(col(Inspection.inspector_id))
    )
    return {uid: int(count) for uid, count in rows if uid is not None}


async def create(
    session: AsyncSession,
    *,
    tickets: Sequence[Ticket],
    what: str,
    inspector_id: int | None,
    due_at: datetime,
    checklist: list[dict[str, str]],
    actor: str,
) -> Inspection:
    """One inspection for ``tickets`` (the first is the primary: the place to visit), with
    an ``inspection_created`` event on each."""
    if not what.strip():
        raise BadPayload("say what the inspector should check")
    place = tickets[0]
    inspection = Inspection(
        what=what.strip(),
        category=place.category,
        department_id=place.department_id,
        inspector_id=inspector_id,
        checklist=checklist,
        lat=place.lat,
        lon=place.lon,
        building=place.building,
        road=place.road,
        block=place.block,
        due_at=due_at,
        created_by=actor,
    )
    session.add(inspection)
    await session.flush()
    assert inspection.id is not None
    data = {"inspection_id": inspection.id, "inspector_id": inspector_id, "what": what.strip()}
    for ticket in tickets:
        assert ticket.id is not None
        session.add(InspectionTicket(inspection_id=inspection.id, ticket_id=ticket.id))
        await queries.add_event(
            session, actor=actor, type="inspection_created", ticket_id=ticket.id, data=data
        )
    await session.flush()
    return inspection


async def tickets_of(session: AsyncSession, *, inspection_id: int) -> list[Ticket]:
    """The tickets an inspection serves, the primary first."""
    statement = (
        select(Ticket)
        .join(InspectionTicket, col(InspectionTicket.ticket_id) == col(Ticket.id))
        .where(col(InspectionTicket.inspection_id) == inspection_id)
        .order_by(col(Ticket.primary_ticket_id).is_not(None), col(Ticket.id))
    )
    return list((await session.execute(statement)).scalars())


async def of_ticket(session: AsyncSession, *, ticket_id: int) -> list[Inspection]:
    """The inspections serving a ticket, newest first."""
    statement = (
        select(Inspection)
        .join(InspectionTicket, col(InspectionTicket.inspection_id) == col(Inspection.id))
        .where(col(InspectionTicket.ticket_id) == ticket_id)
        .order_by(col(Inspection.id).desc())
    )
    return list((await session.execute(statement)).scalars())


async def listing(
    session: AsyncSession,
    *,
    status: str | None = None,
    inspector_id: int | None = None,
    department_id: int | None = None,
    limit: int = 500,
) -> list[Inspection]:
    """Inspections, soonest due first (filtered by state, inspector, department)."""
    statement = select(Inspection)
    if status:
        statement = statement.where(col(Inspection.status) == status)
    if inspector_id is not None:
        statement = statement.where(col(Inspection.inspector_id) == inspector_id)
    if department_id is not None:
        statement = statement.where(col(Inspection.department_id) == department_id)
    ordered = statement.order_by(col(Inspection.due_at), col(Inspection.id)).limit(limit)
    return list((await session.execute(ordered)).scalars())


async def visit_by_client_id(session: AsyncSession, client_id: str) -> Visit | None:
    """The visit a phone submission made, if it arrived before."""
    statement = select(Visit).where(col(Visit.client_id) == client_id)
    return (await session.execute(statement)).scalar_one_or_none()


async def visits_of(session: AsyncSession, *, inspection_ids: Sequence[int]) -> list[Visit]:
    """The visits of these inspections, newest first."""
    if not inspection_ids:
        return []
    statement = select(Visit).where(col(Visit.inspection_id).in_(list(inspection_ids)))
    return list((await session.execute(statement.order_by(col(Visit.id).desc()))).scalars())


async def visit_counts(session: AsyncSession, *, start: datetime, end: datetime) -> dict[str, Any]:
    """Visits received in ``[start, end)`` by decision, with how many were far off."""
    rows = await session.execute(
        select(Visit.decision, Visit.far, func.count())
        .where(col(Visit.received_at) >= start, col(Visit.received_at) < end)
        .group_by(col(Visit.decision), col(Visit.far))
    )
    counts: dict[str, Any] = {decision: 0 for decision in DECISIONS}
    counts["visits"], counts["far"] = 0, 0
    for decision, far, count in rows:
        counts[decision] = counts.get(decision, 0) + int(count)
        counts["visits"] += int(count)
        counts["far"] += int(count) if far else 0
    return counts


async def overdue_count(session: AsyncSession, *, now: datetime) -> int:
    """Open inspections past their due time."""
    statement = select(func.count()).where(
        col(Inspection.status) == OPEN, col(Inspection.due_at) < now
    )
    return int((await session.execute(statement)).scalar_one())


async def record_visit(
    session: AsyncSession, *, inspection: Inspection, visit: Visit
) -> tuple[Visit, bool]:
    """Keep a visit once per ``client_id``; the stored visit and whether this call made it.

    The inspection is visited (decided), or stays open when the inspector could not get in.
    """
    known = await visit_by_client_id(session, visit.client_id)
    if known is not None:
        return known, False
    if inspection.status != OPEN:
        raise BadPayload(f"inspection {inspection.id} is {inspection.status}, not open")
    session.add(visit)
    inspection.status = OPEN if visit.decision == "no_access" else VISITED
    inspection.visited_at, inspection.decision = visit.received_at, visit.decision
    session.add(inspection)
    await session.flush()
    return visit, True
