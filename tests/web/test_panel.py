"""The ticket page's update panel: one submit, mistakes beside their fields, what was done
said as toasts, and only what the person changed applied."""

from __future__ import annotations

from typing import Any

from sqlmodel import col, select

from qanat.runtime import Runtime
from qanat.store.tables import Event, Ticket, User
from tests.web.conftest import Login

JSON = {"Accept": "application/json"}


async def ticket(runtime: Runtime, reference: str) -> Ticket:
    async with runtime.db.session() as session:
        found = await session.execute(select(Ticket).where(col(Ticket.reference) == reference))
        return found.scalar_one()


async def events(runtime: Runtime, reference: str) -> list[tuple[str, dict[str, Any]]]:
    found = await ticket(runtime, reference)
    async with runtime.db.session() as session:
        rows = await session.execute(
            select(Event.type, Event.data)
            .where(col(Event.ticket_id) == found.id)
            .order_by(Event.id)
        )
        return [(kind, data) for kind, data in rows]


async def test_a_reply_takes_the_ticket_and_opens_it(seeded: Runtime, login: Login) -> None:
    agent = await login("agent_sewage")
    before = await ticket(seeded, "QN-2026-000005")
    assert before.status == "new" and before.assignee_id is None
    response = await agent.post(
        "/tickets/QN-2026-000005/update", data={"text": "سنتصل بكم اليوم"}, headers=JSON
    )
    body = response.json()
    assert response.status_code == 200 and body["ok"] and body["errors"] == {}
    assert body["toasts"] == ["حُفظ الرد للتسليم يدويًا."]  # call centre: by hand
    after = await ticket(seeded, "QN-2026-000005")
    async with seeded.db.session() as session:
        me = (
            await session.execute(select(User).where(User.username == "agent_sewage"))
        ).scalar_one()
    assert after.status == "open" and after.assignee_id == me.id
    assert set(body["parts"]) == {"ticket-head", "timeline", "side", "panel", "suggestions"}
    assert "سنتصل بكم اليوم" in body["parts"]["timeline"]
    assert "مفتوحة" in body["parts"]["ticket-head"]


async def test_one_submit_changes_several_fields_in_order(seeded: Runtime, login: Login) -> None:
    admin = await login("admin")
    form = {
        "mode": "note", "text": "نقلها للطرق",
        "priority": "high", "priority_was": "normal",
        "status": "open", "status_was": "new",
        "department": "roads", "department_was": "sewage", "reason": "حفرة لا مجاري",
    }  # fmt: skip
    body = (await admin.post("/tickets/QN-2026-000001/update", data=form, headers=JSON)).json()
    assert body["ok"], body
    assert body["toasts"] == [
        "عُدّل النوع أو الأولوية.",
        "أُضيفت الملاحظة.",
        "الحالة الآن: مفتوحة.",
        "حُوّلت إلى الطرق.",
    ]
    wanted = {"changed", "note_added", "status_changed", "transferred"}
    types = [kind for kind, _data in await events(seeded, "QN-2026-000001") if kind in wanted]
    assert types[-4:] == ["changed", "note_added", "status_changed", "transferred"]
    moved = await ticket(seeded, "QN-2026-000001")
    assert (moved.priority, moved.status) == ("high", "open")


async def test_mistakes_are_marked_beside_their_fields_and_nothing_changes(
    seeded: Runtime, login: Login
) -> None:
    supervisor = await login("sup_sewage")
    before = await events(seeded, "QN-2026-000001")
    form = {"department": "roads", "department_was": "sewage", "reason": "",
            "status": "closed", "status_was": "new"}  # fmt: skip
    response = await supervisor.post("/tickets/QN-2026-000001/update", data=form, headers=JSON)
    assert response.status_code == 422
    assert response.json()["errors"] == {"status": "اذكر السبب.", "reason": "اذكر السبب."}
    assert "panel" not in response.json()["parts"]  # what was typed stays to be fixed
    assert (await ticket(seeded, "QN-2026-000001")).status == "new"
    empty = await supervisor.post("/tickets/QN-2026-000001/update", data={}, headers=JSON)
    assert empty.json()["errors"] == {"text": "اكتب ردًا أو ملاحظة أو غيّر حقلًا."}
    assert await events(seeded, "QN-2026-000001") == before  # nothing was changed


async def test_without_the_script_a_mistake_is_the_page_with_the_field_marked(
    login: Login,
) -> None:
    agent = await login("agent_sewage")
    form = {"text": "ما كتبته", "assignee": "sup_sewage", "assignee_was": ""}
    response = await agent.post("/tickets/QN-2026-000001/update", data=form)
    assert response.status_code == 422
    assert "ليس من صلاحيتك." in response.text and "ما كتبته" in response.text
    assert '<html lang="ar" dir="rtl">' in response.text


async def test_closing_says_why_and_a_field_someone_else_changed_is_left_alone(
    seeded: Runtime, login: Login
) -> None:
    agent = await login("agent_sewage")
    await agent.patch("/api/tickets/QN-2026-000006", json={"priority": "urgent"})
    form = {"status": "closed", "status_was": "new", "close_reason": "بلاغ مكرر بالهاتف",
            "priority": "normal", "priority_was": "normal"}  # fmt: skip
    body = (await agent.post("/tickets/QN-2026-000006/update", data=form, headers=JSON)).json()
    assert body["ok"] and body["toasts"] == ["الحالة الآن: مغلقة."]
    closed = await ticket(seeded, "QN-2026-000006")
    assert closed.status == "closed" and closed.priority == "urgent"
    changed = [d for kind, d in await events(seeded, "QN-2026-000006") if kind == "status_changed"]
    assert changed[-1]["reason"] == "بلاغ مكرر بالهاتف"


async def test_a_wrong_reference_to_link_is_marked_not_a_404(login: Login) -> None:
    agent = await login("agent_sewage")
    response = await agent.post(
        "/tickets/QN-2026-000002/link",
        data={"primary_reference": "QN-2026-999999"},
        headers=JSON,
    )
    assert response.status_code == 422
    assert response.json()["errors"] == {"primary_reference": "لا توجد تذكرة بهذا الرقم تراها."}


async def test_unlinking_asks_why_and_keeps_the_reason(seeded: Runtime, login: Login) -> None:
    agent = await login("agent_sewage")
    linked = await agent.post(
        "/tickets/QN-2026-000002/link", data={"primary_reference": "qn-2026-000001"}, headers=JSON
    )
    assert linked.json()["toasts"] == ["رُبطت كمكررة من \u2068QN-2026-000001\u2069."]
    silent = await agent.post("/tickets/QN-2026-000002/unlink", data={}, headers=JSON)
    assert silent.json()["errors"] == {"reason": "اذكر السبب."}
    assert (await ticket(seeded, "QN-2026-000002")).primary_ticket_id is not None
    done = await agent.post(
        "/tickets/QN-2026-000002/unlink", data={"reason": "شارع آخر"}, headers=JSON
    )
    assert done.json()["toasts"] == ["فُك الربط."]
    assert (await ticket(seeded, "QN-2026-000002")).primary_ticket_id is None
    [unlinked] = [
        d for kind, d in await events(seeded, "QN-2026-000002") if kind == "unlinked_duplicate"
    ]
    assert unlinked["reason"] == "شارع آخر"
