"""The list's API: bulk actions ticket by ticket with the same checks, live queue counts."""

from __future__ import annotations

from sqlmodel import col, select

from qanat.runtime import Runtime
from qanat.store.tables import Ticket, User
from tests.web.conftest import Login

SEWAGE = ["QN-2026-000001", "QN-2026-000002", "QN-2026-000005", "QN-2026-000006"]


async def assignees(runtime: Runtime) -> dict[str, str | None]:
    async with runtime.db.session() as session:
        rows = await session.execute(
            select(Ticket.reference, User.username).outerjoin(
                User, col(User.id) == col(Ticket.assignee_id)
            )
        )
        return dict(rows.all())


async def test_bulk_assign_reports_what_it_could_not_do(seeded: Runtime, login: Login) -> None:
    supervisor = await login("sup_sewage")
    body = {
        "references": [*SEWAGE, "QN-2026-000003"],
        "action": "assign",
        "username": "agent_sewage",
    }
    response = await supervisor.post("/api/tickets/bulk", json=body)
    assert response.status_code == 200
    assert response.json() == {
        "done": SEWAGE,
        "failed": {"QN-2026-000003": "error_not_found_reference"},  # a roads ticket
    }
    held = await assignees(seeded)
    assert [held[r] for r in SEWAGE] == ["agent_sewage"] * 4 and held["QN-2026-000003"] is None


async def test_an_agent_may_take_in_bulk_but_not_give_away(seeded: Runtime, login: Login) -> None:
    agent = await login("agent_sewage")
    give = {"references": SEWAGE[:2], "action": "assign", "username": "sup_sewage"}
    assert (await agent.post("/api/tickets/bulk", json=give)).json()["failed"] == {
        "QN-2026-000001": "error_not_allowed",
        "QN-2026-000002": "error_not_allowed",
    }
    take = {"references": SEWAGE[:2], "action": "assign", "username": "agent_sewage"}
    assert (await agent.post("/api/tickets/bulk", json=take)).json()["done"] == SEWAGE[:2]


async def test_bulk_close_and_link_need_their_details(seeded: Runtime, login: Login) -> None:
    agent = await login("agent_sewage")
    no_reason = await agent.post(
        "/api/tickets/bulk", json={"references": SEWAGE, "action": "close"}
    )
    assert no_reason.status_code == 400
    link = {"references": SEWAGE[1:], "action": "link", "primary_reference": "qn-2026-000001"}
    assert (await agent.post("/api/tickets/bulk", json=link)).json()["done"] == SEWAGE[1:]
    close = {"references": SEWAGE[2:], "action": "close", "reason": "مكررة"}
    assert (await agent.post("/api/tickets/bulk", json=close)).json()["done"] == SEWAGE[2:]
    async with seeded.db.session() as session:
        rows = dict((await session.execute(select(Ticket.reference, Ticket.status))).all())
    assert [rows[r] for r in SEWAGE] == ["new", "new", "closed", "closed"]


async def test_queue_counts_follow_a_take(login: Login) -> None:
    agent = await login("agent_sewage")
    before = (await agent.get("/api/inbox/counts")).json()["counts"]
    assert before["mine"] == 0 and before["unassigned"] == 4
    await agent.post("/api/tickets/QN-2026-000005/take")
    after = (await agent.get("/api/inbox/counts")).json()["counts"]
    assert after["mine"] == 1 and after["unassigned"] == 3
