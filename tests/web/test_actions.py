"""What staff do to tickets, through the API: each change is an event and an audit row."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlmodel import col

from qanat.model import Inbound, Reply, Sender, SentReply
from qanat.runtime import Runtime
from qanat.store.tables import AuditEntry, Event, Message, Note, Ticket
from tests.web.conftest import Login


class FakeSender:
    """Records replies and answers like a connector (or fails like one)."""

    def __init__(self, *, fail: bool = False, fail_first: int = 0) -> None:
        self.sent: list[Reply] = []
        self.fail = fail
        self.fail_first = fail_first
        self.tries = 0

    async def send(self, reply: Reply) -> SentReply:
        self.tries += 1
        if self.fail or self.tries <= self.fail_first:
            raise ConnectionError("gateway timed out")
        self.sent.append(reply)
        return SentReply(external_id=f"sent-{len(self.sent)}", metadata={"ok": True})


async def ticket(runtime: Runtime, reference: str) -> Ticket:
    async with runtime.db.session() as session:
        return (
            await session.execute(select(Ticket).where(col(Ticket.reference) == reference))
        ).scalar_one()


async def events_of(runtime: Runtime, reference: str) -> list[tuple[str, str, dict[str, Any]]]:
    found = await ticket(runtime, reference)
    async with runtime.db.session() as session:
        rows = await session.execute(
            select(Event.type, Event.actor, Event.data)
            .where(col(Event.ticket_id) == found.id)
            .order_by(col(Event.id))
        )
        return [tuple(row) for row in rows]  # type: ignore[misc]


async def audit_actions(runtime: Runtime) -> list[str]:
    async with runtime.db.session() as session:
        return list(
            (await session.execute(select(AuditEntry.action).order_by(AuditEntry.id))).scalars()
        )


async def test_a_reply_goes_out_on_the_citizens_channel(seeded: Runtime, login: Login) -> None:
    sms = FakeSender()
    seeded.senders["sms"] = sms
    agent = await login("agent_sewage")
    response = await agent.post(
        "/api/tickets/QN-2026-000001/replies", json={"text": "وصلنا بلاغك {reference}، شكرا {name}"}
    )
    assert response.status_code == 201
    assert response.json()["state"] == "sent"
    [reply] = sms.sent
    assert reply.to.phone == "+97333123456" and reply.in_reply_to == ["SM-seed-1"]
    assert reply.text == "وصلنا بلاغك QN-2026-000001، شكرا"  # no name known: placeholder emptied
    async with seeded.db.session() as session:
        stored = (
            await session.execute(select(Message).where(col(Message.direction) == "out"))
        ).scalar_one()
    assert stored.state == "sent" and stored.external_id == "sent-1"
    assert stored.channel == "sms" and stored.text == reply.text
    assert (await ticket(seeded, "QN-2026-000001")).first_response_at is not None
    assert ("reply_sent", "staff:agent_sewage") in [
        e[:2] for e in await events_of(seeded, "QN-2026-000001")
    ]
    assert "reply" in await audit_actions(seeded)


async def test_on_x_staff_choose_a_public_or_private_reply_from_the_ticket_page(
    seeded: Runtime, login: Login
) -> None:
    x = FakeSender()
    seeded.senders["x"] = x
    admin = await login("admin")
    page = await admin.get("/tickets/QN-2026-000002")
    assert 'name="visibility"' in page.text
    assert 'name="visibility"' not in (await admin.get("/tickets/QN-2026-000001")).text  # SMS
    form = await admin.post(
        "/tickets/QN-2026-000002/update", data={"text": "سنتواصل معكم", "visibility": "private"}
    )
    assert form.status_code == 303
    api = await admin.post(
        "/api/tickets/QN-2026-000002/replies", json={"text": "تم", "visibility": "public"}
    )
    assert api.status_code == 201
    assert [r.metadata["visibility"] for r in x.sent] == ["private", "public"]
    bad = await admin.post(
        "/tickets/QN-2026-000002/update",
        data={"text": "تم", "visibility": "loud"},
        headers={"Accept": "application/json"},
    )
    assert bad.status_code == 422 and len(x.sent) == 2
    assert bad.json()["errors"] == {"visibility": "اختيار غير صالح."}


async def test_a_reply_carries_the_citizens_private_identities_to_the_channel(
    seeded: Runtime, login: Login
) -> None:
    sms = FakeSender()
    seeded.senders["sms"] = sms
    agent = await login("agent_sewage")
    await agent.post("/api/tickets/QN-2026-000001/replies", json={"text": "تم"})
    [reply] = sms.sent
    assert "+97333123456" in reply.metadata["private_values"]


async def test_without_a_sender_a_reply_is_to_deliver_by_hand(
    seeded: Runtime, login: Login
) -> None:
    agent = await login("agent_sewage")
    response = await agent.post("/api/tickets/QN-2026-000005/replies", json={"text": "سنتصل بك"})
    assert response.json()["state"] == "by_hand"
    assert "call_centre" in response.json()["detail"]
    message_id = response.json()["message_id"]
    delivered = await agent.post(f"/api/tickets/QN-2026-000005/replies/{message_id}/delivered")
    assert delivered.status_code == 200
    again = await agent.post(f"/api/tickets/QN-2026-000005/replies/{message_id}/delivered")
    assert again.status_code == 404
    types = [e[0] for e in await events_of(seeded, "QN-2026-000005")]
    assert types[-2:] == ["reply_by_hand", "reply_delivered"]


async def test_a_send_that_fails_twice_then_goes_is_sent_once(
    seeded: Runtime, login: Login
) -> None:
    gateway = FakeSender(fail_first=2)
    seeded.senders["sms"] = gateway
    agent = await login("agent_sewage")
    response = await agent.post("/api/tickets/QN-2026-000001/replies", json={"text": "مرحبا"})
    assert response.status_code == 201 and response.json()["state"] == "sent"
    assert gateway.tries == 3 and len(gateway.sent) == 1
    types = [e[0] for e in await events_of(seeded, "QN-2026-000001")]
    assert types.count("reply_sent") == 1 and "reply_failed" not in types


async def test_a_failed_send_is_kept_with_its_reason(seeded: Runtime, login: Login) -> None:
    seeded.senders["sms"] = FakeSender(fail=True)
    agent = await login("agent_sewage")
    response = await agent.post("/api/tickets/QN-2026-000001/replies", json={"text": "مرحبا"})
    assert response.status_code == 201
    assert response.json()["state"] == "failed"
    assert "gateway timed out" in response.json()["detail"]
    async with seeded.db.session() as session:
        stored = (
            await session.execute(select(Message).where(col(Message.direction) == "out"))
        ).scalar_one()
    assert stored.state == "failed" and "gateway" in (stored.state_reason or "")


async def test_an_empty_reply_or_note_is_refused(seeded: Runtime, login: Login) -> None:
    agent = await login("agent_sewage")
    assert (
        await agent.post("/api/tickets/QN-2026-000001/notes", json={"text": "  "})
    ).status_code == 400
    assert (
        await agent.post("/api/tickets/QN-2026-000001/replies", json={"text": " "})
    ).status_code == 400


async def test_notes_are_internal(seeded: Runtime, login: Login) -> None:
    agent = await login("agent_sewage")
    created = await agent.post(
        "/api/tickets/QN-2026-000006/notes", json={"text": "الفريق في الطريق"}
    )
    assert created.status_code == 201
    detail = (await agent.get("/api/tickets/QN-2026-000006")).json()
    assert [n["text"] for n in detail["notes"]] == ["الفريق في الطريق"]
    rep = await login("rep305")
    seen = (await rep.get("/api/tickets/QN-2026-000006")).json()
    assert "notes" not in seen and "events" not in seen
    page = await rep.get("/tickets/QN-2026-000006")
    assert page.status_code == 200 and "الفريق في الطريق" not in page.text
    async with seeded.db.session() as session:
        assert len((await session.execute(select(Note))).scalars().all()) == 1


async def test_take_and_assign(seeded: Runtime, login: Login, team: dict[str, int]) -> None:
    agent = await login("agent_sewage")
    assert (await agent.post("/api/tickets/QN-2026-000001/take")).status_code == 200
    assert (await ticket(seeded, "QN-2026-000001")).assignee_id == team["agent_sewage"]
    supervisor = await login("sup_sewage")
    other_department = await supervisor.post(
        "/api/tickets/QN-2026-000001/assign", json={"username": "agent_roads"}
    )
    assert other_department.status_code == 400
    nobody = await supervisor.post("/api/tickets/QN-2026-000001/assign", json={"username": None})
    assert nobody.status_code == 200
    assert (await ticket(seeded, "QN-2026-000001")).assignee_id is None
    assigned = [e for e in await events_of(seeded, "QN-2026-000001") if e[0] == "assigned"]
    assert [e[2]["username"] for e in assigned] == ["agent_sewage", None]


async def test_transfer_moves_the_ticket_out_of_the_departments_sight(
    seeded: Runtime, login: Login
) -> None:
    supervisor = await login("sup_sewage")
    no_reason = await supervisor.post(
        "/api/tickets/QN-2026-000005/transfer", json={"department": "roads", "reason": " "}
    )
    assert no_reason.status_code == 400
    moved = await supervisor.post(
        "/api/tickets/QN-2026-000005/transfer",
        json={"department": "roads", "reason": "الحفرة في الطريق وليست في الصرف"},
    )
    assert moved.status_code == 200
    assert (await supervisor.get("/api/tickets/QN-2026-000005")).status_code == 404
    roads = await login("agent_roads")
    detail = (await roads.get("/api/tickets/QN-2026-000005")).json()
    assert detail["department"] == "roads"
    transferred = next(e for e in detail["events"] if e["type"] == "transferred")
    assert transferred["data"] == {
        "from": "sewage",
        "to": "roads",
        "reason": "الحفرة في الطريق وليست في الصرف",
        "correction": True,
    }


async def test_changing_kind_priority_and_status(seeded: Runtime, login: Login) -> None:
    agent = await login("agent_sewage")
    response = await agent.patch(
        "/api/tickets/QN-2026-000001",
        json={"kind": "request", "priority": "urgent", "status": "open"},
    )
    assert response.status_code == 200
    assert (response.json()["kind"], response.json()["priority"], response.json()["status"]) == (
        "request",
        "urgent",
        "open",
    )
    bad = await agent.patch("/api/tickets/QN-2026-000001", json={"priority": "whenever"})
    assert bad.status_code == 400
    types = [e[0] for e in await events_of(seeded, "QN-2026-000001")]
    assert types.count("changed") == 2 and types.count("status_changed") == 1
    # Urgent runs on the continuous 12-hour clock from the first message.
    [recounted] = [
        e[2] for e in await events_of(seeded, "QN-2026-000001") if e[0] == "sla_recounted"
    ]
    changed = await ticket(seeded, "QN-2026-000001")
    assert recounted["reason"] == "request, urgent"
    assert changed.sla_due_at is not None
    assert changed.sla_due_at - changed.created_at == timedelta(hours=12)
    assert recounted["sla_due_at"] == changed.sla_due_at.isoformat()
    page = (await agent.get("/tickets/QN-2026-000001")).text
    assert "أعيد احتساب الموعد" in page and "نوع أو أولوية جديدة: طلب، عاجلة" in page


async def test_resolving_a_primary_resolves_and_tells_its_duplicates(
    seeded: Runtime, login: Login
) -> None:
    senders = {"sms": FakeSender(), "x": FakeSender()}
    seeded.senders.update(senders)
    agent = await login("agent_sewage")
    for duplicate in ("QN-2026-000002", "QN-2026-000005"):
        linked = await agent.put(
            f"/api/tickets/{duplicate}/primary", json={"primary_reference": "QN-2026-000001"}
        )
        assert linked.json() == {"primary_reference": "QN-2026-000001"}
    response = await agent.patch(
        "/api/tickets/QN-2026-000001",
        json={"status": "resolved", "resolution_text": "تم شفط المياه وإصلاح الخط {reference}"},
    )
    body = response.json()
    assert body["duplicates_resolved"] == ["QN-2026-000002", "QN-2026-000005"]
    assert [(r["ticket_reference"], r["state"]) for r in body["replies"]] == [
        ("QN-2026-000001", "sent"),
        ("QN-2026-000002", "sent"),
        ("QN-2026-000005", "by_hand"),  # the call centre calls back
    ]
    [on_x] = senders["x"].sent
    assert on_x.text == "تم شفط المياه وإصلاح الخط QN-2026-000002"  # each their own reference
    assert on_x.to.handle == "1498765432101"
    for reference in ("QN-2026-000002", "QN-2026-000005"):
        assert (await ticket(seeded, reference)).status == "resolved"
        followed = [e for e in await events_of(seeded, reference) if e[0] == "status_changed"]
        assert followed[-1][2]["reason"] == "primary resolved"


async def test_link_and_unlink_a_duplicate(seeded: Runtime, login: Login) -> None:
    agent = await login("agent_sewage")
    # Dedupe already linked QN-2 to QN-1 (same block, same problem): start independent.
    await agent.delete("/api/tickets/QN-2026-000002/primary")
    itself = await agent.put(
        "/api/tickets/QN-2026-000002/primary", json={"primary_reference": "QN-2026-000002"}
    )
    assert itself.status_code == 400
    elsewhere = await agent.put(
        "/api/tickets/QN-2026-000002/primary", json={"primary_reference": "QN-2026-000003"}
    )
    assert elsewhere.status_code == 404  # roads' ticket does not exist for this agent
    await agent.put(
        "/api/tickets/QN-2026-000002/primary", json={"primary_reference": "QN-2026-000001"}
    )
    # Linking to a duplicate links to its primary: clusters stay one level deep.
    chained = await agent.put(
        "/api/tickets/QN-2026-000005/primary", json={"primary_reference": "QN-2026-000002"}
    )
    assert chained.json() == {"primary_reference": "QN-2026-000001"}
    primary = (await agent.get("/api/tickets/QN-2026-000001")).json()
    assert {d["reference"] for d in primary["duplicates"]} == {"QN-2026-000002", "QN-2026-000005"}
    assert (await agent.delete("/api/tickets/QN-2026-000002/primary")).status_code == 200
    assert (await ticket(seeded, "QN-2026-000002")).primary_ticket_id is None
    assert (await agent.delete("/api/tickets/QN-2026-000002/primary")).status_code == 400
    unlinked = [
        e for e in await events_of(seeded, "QN-2026-000001") if e[0] == "unlinked_duplicate"
    ]
    assert unlinked[0][2] == {"duplicate_reference": "QN-2026-000002", "by": "staff:agent_sewage"}


class CountingQueue:
    """Wraps the inline queue to record the attempt numbers of enqueued jobs."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.calls: list[tuple[int, int]] = []

    async def enqueue_processing(self, message_id: int, *, attempt: int = 0) -> None:
        self.calls.append((message_id, attempt))
        await self.inner.enqueue_processing(message_id, attempt=attempt)

    async def close(self) -> None:
        await self.inner.close()


async def test_retrying_a_dead_letter_processes_it_again(seeded: Runtime, login: Login) -> None:
    queue = CountingQueue(seeded.queue)
    seeded.queue = queue
    saved = await seeded.intake.dead_letter(
        Inbound(
            channel="telegram",
            external_id="tg-dead-1",
            received_at=datetime(2026, 11, 7, 8, 0, tzinfo=UTC),
            sender=Sender(handle="7700"),
            text="حفرة كبيرة في طريق 12 مجمع 701",
        ),
        "BadPayload: the parser was broken",
    )
    admin = await login("admin")
    listed = (await admin.get("/api/dead-letters")).json()
    assert [(d["id"], d["reason"]) for d in listed] == [
        (saved.message_id, "BadPayload: the parser was broken")
    ]
    retried = await admin.post(f"/api/dead-letters/{saved.message_id}/retry")
    assert retried.json() == {"id": saved.message_id, "attempt": 1, "state": "processed"}
    assert queue.calls == [(saved.message_id, 1)]
    assert (await admin.get("/api/dead-letters")).json() == []
    again = await admin.post(f"/api/dead-letters/{saved.message_id}/retry")
    assert again.status_code == 404
    assert "retried" in await audit_actions(seeded)


async def test_every_view_of_personal_data_is_audited(seeded: Runtime, login: Login) -> None:
    agent = await login("agent_sewage")
    await agent.get("/api/tickets/QN-2026-000001")
    await agent.get("/tickets/QN-2026-000001")
    admin = await login("admin")
    log = (await admin.get("/api/audit", params={"ticket": "QN-2026-000001"})).json()
    views = [(e["action"], e["username"]) for e in log if e["action"] == "view_ticket"]
    assert views == [("view_ticket", "agent_sewage")] * 2


async def test_merging_two_citizens_and_undoing_it(seeded: Runtime, login: Login) -> None:
    agent = await login("agent_sewage")
    first, second = await ticket(seeded, "QN-2026-000001"), await ticket(seeded, "QN-2026-000005")
    assert first.contact_id != second.contact_id
    merged = await agent.post(
        "/api/tickets/QN-2026-000001/contact/merge", json={"reference": "QN-2026-000005"}
    )
    merge_id = merged.json()["merge_id"]
    assert (await ticket(seeded, "QN-2026-000005")).contact_id == first.contact_id
    card = (await agent.get("/tickets/QN-2026-000001")).text
    assert "+97336665544" in card and "+97333123456" in card  # both phones on one card
    again = await agent.post(
        "/api/tickets/QN-2026-000001/contact/merge", json={"reference": "QN-2026-000005"}
    )
    assert again.status_code == 400
    elsewhere = await agent.post(
        "/api/tickets/QN-2026-000001/contact/merge", json={"reference": "QN-2026-000003"}
    )
    assert elsewhere.status_code == 404  # roads' ticket
    undone = await agent.post(
        "/api/tickets/QN-2026-000001/contact/unmerge", json={"merge_id": merge_id}
    )
    assert undone.status_code == 200
    assert (await ticket(seeded, "QN-2026-000005")).contact_id == second.contact_id
    card = (await agent.get("/tickets/QN-2026-000001")).text
    assert "+97336665544" not in card
    twice = await agent.post(
        "/api/tickets/QN-2026-000001/contact/unmerge", json={"merge_id": merge_id}
    )
    assert twice.status_code == 400
    types = [e[0] for e in await events_of(seeded, "QN-2026-000001")]
    assert types[-2:] == ["contacts_merged", "contacts_unmerged"]
