"""Field inspections through the web: asked for from a ticket (its whole cluster), the
inspector's list and visit form, a visit kept once per client_id, each decision's effect,
the supervisors' view, checklists per category."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
from fastapi import FastAPI
from sqlalchemy import func, select
from sqlmodel import col

from qanat.model import Direction
from qanat.runtime import Runtime
from qanat.store import inspections, staff
from qanat.store.inspection_tables import Inspection, Visit
from qanat.store.tables import Department, Event, Message, Ticket, User, utcnow
from qanat.web.auth import CSRF_HEADER, SESSION_COOKIE, csrf_token_for
from tests.web.conftest import Login

PHOTOS = Path(__file__).parent.parent / "fixtures" / "web"
#: The reported place of the seeded sewage tickets, and a fix 30 m from it.
PLACE, NEAR, FAR = (26.2170, 50.5800), (26.2172, 50.5802), (26.2300, 50.6000)


async def inspector(
    app: FastAPI, runtime: Runtime, username: str, blocks: str = ""
) -> httpx.AsyncClient:
    """An inspector's account (covering ``blocks``), logged in."""
    async with runtime.db.writing() as session:
        user = User(username=username, display_name=username, password_hash="-", role="inspector")
        session.add(user)
        await session.flush()
        assert user.id is not None
        await inspections.set_areas(
            session, user_id=user.id, blocks=inspections.parse_blocks(blocks)
        )
        token = await staff.open_session(
            session, user_id=user.id, now=utcnow(), ip=None, user_agent="t"
        )
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app),
        base_url="http://qanat.test",
        cookies={SESSION_COOKIE: token},
        headers={CSRF_HEADER: csrf_token_for(runtime.settings, token)},
    )


async def cluster(login: Login, seeded: Runtime) -> httpx.AsyncClient:
    """QN-2026-000002 linked to QN-2026-000001, the primary placed on the map."""
    supervisor = await login("sup_sewage")
    linked = await supervisor.put(
        "/api/tickets/QN-2026-000002/primary", json={"primary_reference": "QN-2026-000001"}
    )
    assert linked.status_code == 200, linked.text
    async with seeded.db.writing() as session:
        ticket = (
            await session.execute(select(Ticket).where(col(Ticket.reference) == "QN-2026-000001"))
        ).scalar_one()
        ticket.lat, ticket.lon = PLACE
        ticket.priority = "high"  # its SLA differs between departments: a transfer recounts
    return supervisor


async def ask(
    supervisor: httpx.AsyncClient, reference: str = "QN-2026-000002", **extra: Any
) -> int:
    made = await supervisor.post(
        f"/api/tickets/{reference}/inspections", json={"what": "تأكد من الطفح وسببه", **extra}
    )
    assert made.status_code == 201, made.text
    return int(made.json()["id"])


def visit(
    decision: str, *, client_id: str = "visit-0001", at: tuple[float, float] = NEAR, **extra: str
) -> dict[str, str]:
    return {
        "client_id": client_id,
        "decision": decision,
        "lat": str(at[0]),
        "lon": str(at[1]),
        "accuracy": "12",
        "observed_at": "2026-11-06T07:30:00+03:00",
        "answer.found": "yes",
        "answer.safe": "no",
        "notes": "الطفح من غرفة التفتيش أمام المبنى 12",
        **extra,
    }


def photo(name: str) -> list[tuple[str, tuple[str, bytes, str]]]:
    return [("photos", (name, (PHOTOS / name).read_bytes(), "image/jpeg"))]


async def count(runtime: Runtime, table: Any, *where: Any) -> int:
    async with runtime.db.session() as session:
        return int(
            (
                await session.execute(select(func.count()).select_from(table).where(*where))
            ).scalar_one()
        )


async def test_an_inspection_serves_the_whole_cluster_and_goes_to_the_areas_inspector(
    login: Login, seeded: Runtime, app: FastAPI
) -> None:
    supervisor = await cluster(login, seeded)
    elsewhere = await inspector(app, seeded, "insp_riffa", "901-930")
    local = await inspector(app, seeded, "insp_305", "301-319")
    number = await ask(supervisor)
    async with seeded.db.session() as session:
        held = await session.get(Inspection, number)
        tickets = await inspections.tickets_of(session, inspection_id=number)
        chosen = await session.get(User, held.inspector_id if held else 0)
    assert held is not None and chosen is not None and chosen.username == "insp_305"
    assert [t.reference for t in tickets] == ["QN-2026-000001", "QN-2026-000002"]
    assert (held.lat, held.lon, held.block) == (*PLACE, "305")
    assert [i["key"] for i in held.checklist] == ["found", "safe", "photo"]
    again = await supervisor.post("/api/tickets/QN-2026-000001/inspections", json={"what": "again"})
    assert again.status_code == 400 and f"open inspection {number}" in again.json()["detail"]
    listed = (await local.get("/inspect")).text
    assert f'href="/inspect/{number}"' in listed and 'class="map"' in listed
    assert f'href="/inspect/{number}"' not in (await elsewhere.get("/inspect")).text
    assert (await elsewhere.get(f"/inspect/{number}")).status_code == 404
    form = (await local.get(f"/inspect/{number}")).text
    assert 'name="answer.found"' in form and 'capture="environment"' in form
    assert "طفح مجاري في مجمع 305" in form and "+97333123456" not in form  # no contact


async def test_a_visit_resolved_on_site_is_kept_once_and_tells_every_reporter(
    login: Login, seeded: Runtime, app: FastAPI
) -> None:
    supervisor = await cluster(login, seeded)
    phone = await inspector(app, seeded, "insp_305", "305")
    number = await ask(supervisor)
    url = f"/api/inspections/{number}/visits"
    first = await phone.post(url, data=visit("resolved"), files=photo("pothole.png"))
    assert first.status_code == 201, first.text
    assert first.json()["created"] and first.json()["photos"] == 1 and not first.json()["far"]
    assert 20 < first.json()["distance_m"] < 40
    again = await phone.post(url, data=visit("resolved"), files=photo("pothole.png"))
    assert again.status_code == 200 and again.json() == first.json() | {"created": False}
    assert await count(seeded, Visit) == 1
    async with seeded.db.session() as session:
        statuses = dict(
            (
                await session.execute(
                    select(Ticket.reference, Ticket.status).where(
                        col(Ticket.reference).in_(["QN-2026-000001", "QN-2026-000002"])
                    )
                )
            ).all()
        )
        found = list(
            (
                await session.execute(
                    select(Event.data).where(col(Event.type) == "inspection_visited")
                )
            ).scalars()
        )
        told = (
            await session.execute(
                select(Message.ticket_id, Message.text).where(
                    col(Message.direction) == Direction.outbound
                )
            )
        ).all()
    assert statuses == {"QN-2026-000001": "resolved", "QN-2026-000002": "resolved"}
    assert len(found) == 2 and found[0]["decision"] == "resolved"
    safe = inspections.DEFAULT_ITEMS[1]
    assert found[0]["failed_items"] == [{"ar": safe["ar"], "en": safe["en"]}]
    assert len(told) == 2 and all("QN-2026-00000" in text for _, text in told)
    page = (await supervisor.get("/tickets/QN-2026-000002")).text
    assert "نتيجة الزيارة الميدانية" in page and "حُلّت في الموقع" in page
    shown = (await supervisor.get(f"/inspections/{number}")).text
    picture = await supervisor.get(f"/inspections/visits/{first.json()['visit_id']}/photos/1")
    assert picture.headers["content-type"] == "image/png" and 'src="/inspections/visits/' in shown
    # An inspector's photo is served as an attachment's preview is: never run or sniffed.
    assert picture.headers["content-security-policy"] == "default-src 'none'; sandbox"
    assert picture.headers["x-content-type-options"] == "nosniff"


async def test_needs_work_transfers_with_the_inspectors_reason(
    login: Login, seeded: Runtime, app: FastAPI
) -> None:
    supervisor = await cluster(login, seeded)
    phone = await inspector(app, seeded, "insp_305", "305")
    number = await ask(supervisor)
    refused = await phone.post(
        f"/api/inspections/{number}/visits", data=visit("needs_work", department="roads")
    )
    assert refused.status_code == 400 and "says why" in refused.json()["detail"]
    sent = await phone.post(
        f"/api/inspections/{number}/visits",
        data=visit("needs_work", department="roads", reason="هبوط في الطريق فوق الخط", at=FAR),
    )
    assert sent.status_code == 201 and sent.json()["far"]
    async with seeded.db.session() as session:
        roads = (
            await session.execute(select(Department.id).where(col(Department.code) == "roads"))
        ).scalar_one()
        moved = (
            (
                await session.execute(
                    select(Ticket.department_id).where(
                        col(Ticket.reference).in_(["QN-2026-000001", "QN-2026-000002"])
                    )
                )
            )
            .scalars()
            .all()
        )
        why = list(
            (
                await session.execute(select(Event.data).where(col(Event.type) == "transferred"))
            ).scalars()
        )
        recounted = await count(seeded, Event, col(Event.type) == "sla_recounted")
    assert (
        set(moved) == {roads} and why and why[0]["reason"] == "inspection: هبوط في الطريق فوق الخط"
    )
    assert recounted >= 1
    overview = (await (await login("admin")).get("/inspections")).text
    assert 'id="far"' in overview and f'href="/inspections/{number}"' in overview


async def test_no_access_leaves_the_inspection_open_and_a_violation_marks_the_tickets(
    login: Login, seeded: Runtime, app: FastAPI
) -> None:
    supervisor = await cluster(login, seeded)
    phone = await inspector(app, seeded, "insp_305", "305")
    number = await ask(supervisor)
    url = f"/api/inspections/{number}/visits"
    assert (
        await phone.post(url, data=visit("no_access", client_id="visit-aaaa"))
    ).status_code == 201
    async with seeded.db.session() as session:
        held = await session.get(Inspection, number)
    assert held is not None and held.status == "open"
    assert (
        await phone.post(url, data=visit("violation", client_id="visit-bbbb"))
    ).status_code == 201
    async with seeded.db.session() as session:
        flags = (
            await session.execute(
                select(Ticket.flags).where(col(Ticket.reference) == "QN-2026-000001")
            )
        ).scalar_one()
    assert "violation" in flags
    closed = await phone.post(url, data=visit("resolved", client_id="visit-cccc"))
    assert closed.status_code == 400 and "not open" in closed.json()["detail"]


async def test_a_program_posing_as_a_photo_stores_nothing(
    login: Login, seeded: Runtime, app: FastAPI
) -> None:
    supervisor = await cluster(login, seeded)
    phone = await inspector(app, seeded, "insp_305", "305")
    number = await ask(supervisor)
    sent = await phone.post(
        f"/api/inspections/{number}/visits", data=visit("resolved"), files=photo("program.jpg")
    )
    assert sent.status_code == 422 and "not a photo" in sent.json()["detail"]
    assert await count(seeded, Visit) == 0


async def test_admins_edit_a_categorys_checklist_and_its_visit_sla(
    login: Login, seeded: Runtime
) -> None:
    admin = await login("admin")
    page = (await admin.get("/admin/checklists")).text
    assert 'id="checklist-sewage_overflow"' in page
    saved = await admin.post(
        "/admin/checklists",
        data={
            "category": "sewage_overflow",
            "items": "مصدر الطفح | Source of the overflow\nالرائحة | Smell\n",
            "due_hours": "6",
        },
    )
    assert saved.status_code == 303
    async with seeded.db.writing() as session:
        ticket = (
            await session.execute(select(Ticket).where(col(Ticket.reference) == "QN-2026-000001"))
        ).scalar_one()
        ticket.category = "sewage_overflow"
    number = await ask(admin, "QN-2026-000001")
    async with seeded.db.session() as session:
        held = await session.get(Inspection, number)
    assert held is not None and [i["en"] for i in held.checklist] == [
        "Source of the overflow",
        "Smell",
    ]
    assert abs((held.due_at - held.created_at).total_seconds() - 6 * 3600) < 60
    assert "مصدر الطفح" in (await admin.get(f"/inspections/{number}")).text


async def test_the_supervisors_page_counts_states_and_load(
    login: Login, seeded: Runtime, app: FastAPI
) -> None:
    supervisor = await cluster(login, seeded)
    await inspector(app, seeded, "insp_305", "305")
    number = await ask(supervisor, due_at="2026-11-01T08:00:00+03:00")
    page = (await supervisor.get("/inspections")).text
    assert 'id="overdue"' in page and f'href="/inspections/{number}"' in page
    assert "/assets/leaflet/leaflet.js" in page and "tile" not in page.split('data-tiles="')[1][:5]
    listed = (await supervisor.get("/api/inspections", params={"status": "open"})).json()
    assert [i["id"] for i in listed] == [number] and listed[0]["overdue"]
    agent = await login("agent_roads")
    assert (await agent.get("/inspections")).status_code == 403
    assert (await agent.get("/assets/leaflet/leaflet.js")).status_code == 200


async def test_the_dashboard_and_the_daily_report_count_visits(
    login: Login, seeded: Runtime, app: FastAPI
) -> None:
    from qanat.jobs.report_page import render_csv, render_html
    from qanat.jobs.reports import daily_report

    supervisor = await cluster(login, seeded)
    phone = await inspector(app, seeded, "insp_305", "305")
    number = await ask(supervisor)
    await phone.post(f"/api/inspections/{number}/visits", data=visit("resolved", at=FAR))
    field = (await supervisor.get("/api/dashboard")).json()["field"]
    assert (field["visits"], field["resolved"], field["far"], field["needs_work"]) == (1, 1, 1, 0)
    assert 'id="field-visits"' in (await supervisor.get("/dashboard")).text
    today = utcnow().astimezone(seeded.settings.tz).date()
    lines = {(line.group, line.name): line.received for line in await daily_report(seeded, today)}
    assert lines[("field", "visits")] == 1 and lines[("field", "resolved")] == 1
    report = await daily_report(seeded, today)
    assert "Field visits / الزيارات الميدانية,Resolved on site / حُلّت في الموقع,1," in render_csv(
        report, {}
    )
    page = render_html(report, day=today, departments={})
    assert '<td>Resolved on site</td><td class="n">1</td>' in page
    assert '<td>حُلّت في الموقع</td><td class="n">1</td>' in page
