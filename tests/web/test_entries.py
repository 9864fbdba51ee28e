"""Staff entries (calls, majlis, …), the missed-call list, and one citizen across channels."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import select
from sqlmodel import col

from qanat.ingest.call_centre import import_cdr
from qanat.runtime import Runtime
from qanat.store.tables import CallRecord, ContactIdentity, Message, Ticket
from tests.ingest.sms.test_gateways import ACCOUNTS, signed
from tests.web.conftest import Login
from tests.web.test_public import REPORT, open_form, shown

CDR = Path(__file__).parent.parent / "fixtures" / "call_centre" / "Master.csv"
SMS = Path(__file__).parent.parent / "fixtures" / "sms" / "twilio_inbound_arabic.form"


async def ticket_and_message(runtime: Runtime, reference: str) -> tuple[Ticket, Message]:
    async with runtime.db.session() as session:
        ticket = (
            await session.execute(select(Ticket).where(Ticket.reference == reference))
        ).scalar_one()
        message = (
            (await session.execute(select(Message).where(Message.ticket_id == ticket.id)))
            .scalars()
            .first()
        )
    assert message is not None
    return ticket, message


async def test_an_agent_logs_a_call_from_the_inbox_form(login: Login, seeded: Runtime) -> None:
    agent = await login("agent_sewage")
    form = await agent.get("/log")
    assert form.status_code == 200 and 'value="majlis"' in form.text and "حضور شخصي" in form.text
    answer = await agent.post(
        "/log",
        data={
            "channel": "call_centre",
            "occurred_at": "2026-11-20T10:05",
            "name": "Chris",
            "phone": "39000477",
            "language": "en",
            "kind": "complaint",
            "category": "fallen_tree",
            "text": "Caller reports a tree fallen across Road 3803, Block 338",
            "block": "338",
            "client_id": "form-abc-123456",
        },
    )
    assert answer.status_code == 200
    reference = re.search(r'href="/tickets/(QN-\d{4}-\d{6})"', answer.text)
    assert reference is not None
    ticket, message = await ticket_and_message(seeded, reference.group(1))
    assert (ticket.channel, ticket.category, ticket.language) == (
        "call_centre",
        "fallen_tree",
        "en",
    )
    assert (message.account, message.sender_handle, message.sender_name) == (
        "staff",
        "+97339000477",
        "Chris",
    )
    assert message.received_at.isoformat() == "2026-11-20T07:05:00+00:00"  # local time given
    assert message.channel_metadata == {"logged_by": "agent_sewage", "language": "en"}


async def test_majlis_council_and_walk_ins_are_channels_of_their_own(
    login: Login, seeded: Runtime
) -> None:
    supervisor = await login("sup_sewage")
    made = {}
    for channel in ("majlis", "council", "walk_in", "letter", "field_visit"):
        answer = await supervisor.post(
            "/api/entries",
            json={
                "channel": channel,
                "occurred_at": "2026-11-18T19:30:00+03:00",
                "name": "عبدالله الدوسري",
                "on_behalf_of": "أهالي مجمع 305",
                "text": f"طفح مجاري متكرر في مجمع 305 طريق 45 ({channel})",
                "block": "305",
                "client_id": f"entry-{channel}-1",
            },
        )
        assert answer.status_code == 201 and answer.json()["reference"], channel
        made[channel] = answer.json()["reference"]
    again = await supervisor.post(
        "/api/entries",
        json={"channel": "majlis", "text": "مرة أخرى", "client_id": "entry-majlis-1"},
    )
    assert again.json() == {
        "reference": made["majlis"],
        "receipt": "sup_sewage:entry-majlis-1",
        "created": False,
    }
    _ticket, message = await ticket_and_message(seeded, made["majlis"])
    assert message.channel_metadata["on_behalf_of"] == "أهالي مجمع 305"
    listed = await supervisor.get("/api/tickets", params={"queue": "all", "channel": "walk_in"})
    assert [t["reference"] for t in listed.json()] == [made["walk_in"]]
    inbox = (await supervisor.get("/inbox", params={"queue": "all", "channel": "council"})).text
    assert made["council"] in inbox and made["majlis"] not in inbox
    assert (
        await (await login("rep305")).post("/api/entries", json={"text": "x"})
    ).status_code == 403


async def test_a_logged_call_joins_its_telephone_record(login: Login, seeded: Runtime) -> None:
    await import_cdr(seeded.db, CDR, tz=seeded.settings.tz, region="BH")
    agent = await login("agent_sewage")
    answer = await agent.post(
        "/api/entries",
        json={
            "occurred_at": "2026-11-03T09:16:00+03:00",
            "phone": "33445566",
            "name": "Ali Hasan",
            "text": "طفح مجاري في مجمع 305 طريق 45",
        },
    )
    ticket, _message = await ticket_and_message(seeded, answer.json()["reference"])
    async with seeded.db.session() as session:
        record = (
            await session.execute(select(CallRecord).where(CallRecord.call_id == "1762150364.1042"))
        ).scalar_one()
    assert record.ticket_id == ticket.id


async def test_missed_calls_are_returned_and_leave_the_list(login: Login, seeded: Runtime) -> None:
    await import_cdr(seeded.db, CDR, tz=seeded.settings.tz, region="BH")
    agent = await login("agent_roads")
    waiting = (await agent.get("/api/calls/missed")).json()
    assert [c["caller"] for c in waiting] == ["+97336554433", "+97336112244"]
    assert "36112244" in (await agent.get("/log")).text
    first = waiting[0]["id"]
    assert (await agent.post(f"/api/calls/{first}/called-back")).json() == {"called_back": first}
    assert [c["id"] for c in (await agent.get("/api/calls/missed")).json()] == [waiting[1]["id"]]
    assert (await agent.post(f"/api/calls/{first}/called-back")).status_code == 404


async def test_a_citizen_who_calls_texts_and_uses_the_form_is_one_contact(
    login: Login, anonymous: httpx.AsyncClient, seeded: Runtime
) -> None:
    agent = await login("agent_sewage")
    call = await agent.post(
        "/api/entries",
        json={"phone": "٣٣٤٤٥٥٦٦", "name": "علي حسن", "text": "طفح مجاري في مجمع 305 طريق 45"},
    )
    seeded.connectors.accounts = {"sms": ACCOUNTS}
    body = SMS.read_bytes()  # from +97333445566
    texted = await anonymous.post("/webhooks/sms/main", content=body, headers=signed(body))
    assert texted.status_code == 200
    form: dict[str, Any] = await open_form(anonymous)
    web = await anonymous.post("/report", data=REPORT | form | {"phone": "+973 3344 5566"})
    web_reference = shown(web.text, "reference")
    async with seeded.db.session() as session:
        messages = list(
            (
                await session.execute(
                    select(Message).where(col(Message.channel).in_(["call_centre", "sms", "web"]))
                )
            ).scalars()
        )
        mine = [
            m for m in messages if m.external_id != "WEB-seed-4" and "seed" not in m.external_id
        ]
        identities = (
            (
                await session.execute(
                    select(ContactIdentity).where(ContactIdentity.value == "+97333445566")
                )
            )
            .scalars()
            .all()
        )
    assert sorted(m.channel for m in mine) == ["call_centre", "sms", "web"]
    assert len({m.contact_id for m in mine}) == 1 and len(identities) == 1
    assert identities[0].contact_id == mine[0].contact_id
    # The SMS continued the call's ticket; the form's ticket shows that one in its history.
    call_ticket = call.json()["reference"]
    assert {m.ticket_id for m in mine if m.channel != "web"} == {
        (await ticket_and_message(seeded, call_ticket))[0].id
    }
    page = (await (await login("admin")).get(f"/tickets/{web_reference}")).text
    assert f'href="/tickets/{call_ticket}"' in page
