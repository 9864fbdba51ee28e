"""The demo makes its own staff accounts, so the inbox can be opened straight away."""

from __future__ import annotations

from datetime import timedelta

from rich.console import Console
from sqlalchemy import func, select
from sqlmodel import col

from qanat.auth import verify_password
from qanat.demo.field import DEMO_INSPECTORS
from qanat.demo.run import DEMO_PASSWORD, DEMO_STAFF, run_demo
from qanat.runtime import Runtime
from qanat.store import dashboard, inbox, staff
from qanat.store.inspection_tables import Inspection, Visit
from qanat.store.tables import Event, Message, Ticket, User, utcnow
from qanat.web.app import create_app
from tests.web.conftest import bearer_client


async def usernames(runtime: Runtime) -> dict[str, User]:
    async with runtime.db.session() as session:
        return {u.username: u for u in (await session.execute(select(User))).scalars()}


async def test_the_demo_creates_its_logins_once(runtime: Runtime) -> None:
    console = Console(record=True, width=120)
    await run_demo(runtime, console=console)
    await run_demo(runtime, console=console)
    users = await usernames(runtime)
    assert set(users) == set(DEMO_STAFF) | set(DEMO_INSPECTORS)
    assert verify_password(users["agent"].password_hash, DEMO_PASSWORD)
    assert users["rep305"].block == "305" and users["rep305"].role == "representative"
    assert DEMO_PASSWORD in console.export_text()


async def test_no_demo_logins_in_a_database_the_demo_does_not_own(runtime: Runtime) -> None:
    console = Console(record=True, width=120)
    await run_demo(runtime, console=console, with_staff=False)
    assert await usernames(runtime) == {}
    assert DEMO_PASSWORD not in console.export_text()


async def test_every_demo_ticket_shows_its_routing_reason_in_the_api(runtime: Runtime) -> None:
    await run_demo(runtime, console=Console(record=True, width=120))
    async with runtime.db.session() as session:
        tickets = (await session.execute(select(func.count()).select_from(Ticket))).scalar_one()
        reasons = list(
            (await session.execute(select(Event.data).where(col(Event.type) == "routed"))).scalars()
        )
    assert tickets > 100 and len(reasons) == tickets and all(r["reason"] for r in reasons)
    admin = (await usernames(runtime))["admin"]
    assert admin.id is not None
    client, _token = await bearer_client(
        create_app(runtime=runtime), runtime, user_id=admin.id, scopes=["read"]
    )
    async with client:
        listed = (await client.get("/api/tickets", params={"queue": "all", "limit": 500})).json()
        one_per_department = {row["department"]: row["reference"] for row in listed}
        assert {"sewage", "roads", "street_lighting", "cleanliness"} <= set(one_per_department)
        for department, reference in one_per_department.items():
            detail = (await client.get(f"/api/tickets/{reference}")).json()
            [routed] = [e for e in detail["events"] if e["type"] == "routed"]
            assert routed["actor"] == "router" and routed["data"]["reason"]
            assert detail["department"] == department


async def test_two_months_from_now_the_demo_still_tells_a_live_story(runtime: Runtime) -> None:
    later = utcnow() + timedelta(days=61)
    await run_demo(runtime, console=Console(record=True, width=120), now=later)
    admin = staff.viewer_of((await usernames(runtime))["admin"])
    async with runtime.db.session() as session:
        tickets = list((await session.execute(select(Ticket))).scalars())
        queues = await inbox.queue_counts(
            session, viewer=admin, queues=["open", "overdue"], now=later
        )
        facts = await dashboard.ticket_facts(session, viewer=admin, since=later - timedelta(30))
        moments = (await session.execute(select(func.min(Event.at), func.max(Event.at)))).one()
        newest = (await session.execute(select(func.max(Message.received_at)))).scalar_one()
    resolved = [t for t in tickets if t.status == "resolved"]
    pending = [t for t in tickets if t.status == "pending"]
    assert resolved and pending
    assert 0 < queues["overdue"] < queues["open"] * 0.7  # some overdue, far from all open
    # Everything happened in the weeks before "now", nothing after it or at the real now.
    assert later - timedelta(days=28) < moments[0] and moments[1] <= later
    assert later - timedelta(days=7) <= newest <= later
    tz = runtime.settings.tz
    first_day = (later - timedelta(days=29)).astimezone(tz).date()
    figures = dashboard.measure(facts, first_day=first_day, days=30, now=later, tz=tz)
    assert figures.overall["tickets"] > 100 and figures.overall["response_rate"] > 50
    assert figures.overall["breaches"] > 0 and figures.overall["resolution_hours"] > 0


async def test_the_demo_has_inspectors_inspections_and_visits_once(runtime: Runtime) -> None:
    console = Console(record=True, width=120)
    await run_demo(runtime, console=console)
    await run_demo(runtime, console=console)
    async with runtime.db.session() as session:
        held = (await session.execute(select(Inspection))).scalars().all()
        visits = (await session.execute(select(Visit))).scalars().all()
        inspectors = [
            u for u in (await session.execute(select(User))).scalars() if u.role == "inspector"
        ]
    assert len(held) == 6 and len(inspectors) == 2
    assert sorted(v.decision for v in visits) == ["needs_work", "no_access", "resolved"]
    assert [v.far for v in visits if v.decision == "no_access"] == [True]
    assert "Field inspections: 6 asked for, 2 visited" in console.export_text()
