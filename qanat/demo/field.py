"""The demo's field inspections: two inspectors with their blocks, checklists for sewage
and roads, inspections asked for on open tickets, and visits that resolve one on site,
send one to another department and flag one made far from the place.

Made once (a second run finds the inspections and adds nothing), only in the demo's own
database, as the demo's staff accounts are.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import func
from sqlmodel import col, select

from qanat.jobs.deps import JobDeps
from qanat.jobs.field_visits import VisitReport, Who, create_inspection, submit_visit
from qanat.model import OPEN_STATUSES
from qanat.store import inspections, staff
from qanat.store.inspection_tables import Inspection
from qanat.store.tables import Department, Ticket, User
from qanat.store.users import add_user

#: username → (display name, blocks covered)
DEMO_INSPECTORS = {
    "inspector": ("مفتش المنطقة الوسطى", "301-340"),
    "inspector2": ("مفتش المحرق والجنوبية", "101-260,901-999"),
}
CHECKLISTS = {
    "sewage_overflow": [
        {"key": "source", "ar": "مصدر الطفح محدد", "en": "Source of the overflow found"},
        {"key": "homes", "ar": "المياه وصلت إلى المنازل", "en": "Water has reached homes"},
        {"key": "smell", "ar": "رائحة أو خطر صحي", "en": "Smell or health hazard"},
    ],
    "pothole": [
        {"key": "depth", "ar": "العمق أكثر من ٥ سم", "en": "Deeper than 5 cm"},
        {"key": "lane", "ar": "في مسار السيارات", "en": "In a driving lane"},
        {"key": "marked", "ar": "تم وضع علامات تحذير", "en": "Warning signs placed"},
    ],
}
#: How many inspections the demo asks for.
INSPECTIONS = 6


async def _open_primaries(deps: JobDeps) -> list[Ticket]:
    """Open primary tickets of sewage and roads, those on the map first."""
    async with deps.db.session() as session:
        wanted = select(Department.id).where(col(Department.code).in_(["sewage", "roads"]))
        rows = await session.execute(
            select(Ticket)
            .where(
                col(Ticket.primary_ticket_id).is_(None),
                col(Ticket.status).in_([s.value for s in OPEN_STATUSES]),
                col(Ticket.department_id).in_(wanted),
                col(Ticket.block).is_not(None),
            )
            .order_by(col(Ticket.lat).is_(None), col(Ticket.id))
            .limit(INSPECTIONS)
        )
        return list(rows.scalars())


async def _people(deps: JobDeps, password: str) -> None:
    for username, (name, blocks) in DEMO_INSPECTORS.items():
        async with deps.db.session() as session:
            if await staff.user_named(session, username=username) is not None:
                continue
        await add_user(
            deps.db, username=username, role="inspector", display_name=name, password=password
        )
        async with deps.db.writing() as session:
            person = await staff.user_named(session, username=username)
            assert person is not None and person.id is not None
            await inspections.set_areas(
                session, user_id=person.id, blocks=inspections.parse_blocks(blocks)
            )


async def _who(deps: JobDeps, username: str) -> Who:
    async with deps.db.session() as session:
        person = await staff.user_named(session, username=username)
    assert person is not None
    return Who(viewer=staff.viewer_of(person))


def _visits(inspection: Inspection, number: int) -> VisitReport | None:
    """The demo's visits: the first made far from the place (the inspector could not get
    in; it needs a place on the map), the second resolved on site, the third sent to
    roads; the rest still to visit."""
    lat, lon = inspection.lat or 26.2170, inspection.lon or 50.5800
    plans: dict[int, dict[str, Any]] = {
        0: {
            "decision": "no_access",
            "lat": lat + 0.02,
            "lon": lon + 0.02,
            "notes": "البوابة مغلقة ولم يحضر صاحب العقار",
        },
        1: {
            "decision": "resolved",
            "lat": lat + 0.0002,
            "lon": lon + 0.0002,
            "notes": "تم تسليك الخط وتنظيف الموقع",
        },
        2: {
            "decision": "needs_work",
            "lat": lat,
            "lon": lon + 0.0003,
            "department": "roads",
            "reason": "هبوط في الطريق فوق خط الصرف يحتاج إعادة رصف",
        },
    }
    plan = plans.get(number)
    if plan is None:
        return None
    return VisitReport(client_id=f"demo-visit-{inspection.id}", accuracy=8.0, **plan)


async def load_field_demo(deps: JobDeps, *, password: str, admin: str = "admin") -> dict[str, int]:
    """Inspectors, checklists, inspections and visits (once); what the demo holds of them."""
    await _people(deps, password)
    async with deps.db.writing() as session:
        made = (await session.execute(select(func.count()).select_from(Inspection))).scalar_one()
        for category, items in CHECKLISTS.items():
            if (await inspections.template_for(session, category)).category != category:
                await inspections.set_template(
                    session, category=category, items=items, due_hours=24, by="demo"
                )
    if not made:
        who = await _who(deps, admin)
        for ticket in await _open_primaries(deps):
            await create_inspection(deps, who, ticket.reference, what="تحقق من البلاغ في الموقع")
        async with deps.db.session() as session:
            held = await inspections.listing(session, status=inspections.OPEN)
        # Visits go first to places on the map: a GPS fix can only be far from a place
        # that has coordinates.
        for number, inspection in enumerate(sorted(held, key=lambda i: i.lat is None)):
            report = _visits(inspection, number)
            if report is None or inspection.inspector_id is None or inspection.id is None:
                continue
            async with deps.db.session() as session:
                person = await session.get(User, inspection.inspector_id)
            assert person is not None
            await submit_visit(deps, Who(viewer=staff.viewer_of(person)), inspection.id, report)
    async with deps.db.session() as session:
        count = select(func.count()).select_from(Inspection)
        return {
            "inspections": int((await session.execute(count)).scalar_one()),
            "visited": int(
                (
                    await session.execute(count.where(col(Inspection.status) == "visited"))
                ).scalar_one()
            ),
        }
