"""qanat as the national system: partners post status updates (once per update id), and
clients follow changes with ``updated_after`` and pages."""

from __future__ import annotations

from datetime import timedelta
from xml.etree import ElementTree

import httpx
import pytest
from sqlalchemy import select
from sqlmodel import col

from qanat.runtime import Runtime
from qanat.store.tables import Event, Ticket, utcnow
from tests.web.conftest import Login

V2 = "/open311/v2"


@pytest.fixture
async def partner(login: Login) -> str:
    """The key of a ministry that works the requests and may post updates."""
    admin = await login("admin")
    issued = await admin.post("/api/open311/keys", json={"name": "works", "updates": True})
    assert issued.status_code == 201 and issued.json()["updates"] is True
    secret: str = issued.json()["api_key"]
    return secret


async def request_of(anonymous: httpx.AsyncClient, reference: str) -> dict[str, object]:
    [found] = (await anonymous.get(f"{V2}/requests/{reference}.json")).json()
    assert isinstance(found, dict)
    return found


async def test_a_partners_update_closes_the_request_once(
    anonymous: httpx.AsyncClient, partner: str, seeded: Runtime
) -> None:
    update = {
        "api_key": partner,
        "service_request_id": "QN-2026-000001",
        "update_id": "works-41",
        "status": "CLOSED",
        "description": "Resolved on site by the inspector.",
        "updated_datetime": "2026-11-02T10:00:00+03:00",
    }
    first = await anonymous.post(f"{V2}/servicerequestupdates.json", data=update)
    again = await anonymous.post(f"{V2}/servicerequestupdates.json", data=update)
    assert first.status_code == again.status_code == 200
    assert first.json() == again.json() and first.json()[0]["update_id"]
    shown = await request_of(anonymous, "QN-2026-000001")
    assert shown["status"] == "closed"
    assert shown["status_notes"] == "Resolved on site by the inspector."
    async with seeded.db.session() as session:
        ticket = (
            await session.execute(select(Ticket).where(col(Ticket.reference) == "QN-2026-000001"))
        ).scalar_one()
        kinds = list(
            (
                await session.execute(
                    select(Event.type).where(
                        col(Event.ticket_id) == ticket.id, col(Event.actor) == "open311:works"
                    )
                )
            ).scalars()
        )
    assert ticket.status == "resolved" and kinds == ["partner_update", "status_changed"]
    listed = await anonymous.get(f"{V2}/servicerequestupdates.xml")
    tree = ElementTree.fromstring(listed.content)
    assert tree.tag == "service_request_updates"
    [item] = tree.findall("request_update")
    assert item.findtext("service_request_id") == "QN-2026-000001"
    assert item.findtext("status") == "closed"


async def test_an_update_reopens_and_a_note_changes_no_status(
    anonymous: httpx.AsyncClient, partner: str
) -> None:
    base = {"api_key": partner, "service_request_id": "QN-2026-000002"}
    await anonymous.post(
        f"{V2}/servicerequestupdates.json", data={**base, "update_id": "1", "status": "closed"}
    )
    await anonymous.post(
        f"{V2}/servicerequestupdates.json",
        data={**base, "update_id": "2", "description": "Crew booked for Sunday"},
    )
    assert (await request_of(anonymous, "QN-2026-000002"))["status"] == "closed"
    await anonymous.post(
        f"{V2}/servicerequestupdates.json", data={**base, "update_id": "3", "status": "open"}
    )
    shown = await request_of(anonymous, "QN-2026-000002")
    assert shown["status"] == "open" and shown["status_notes"] == "Crew booked for Sunday"


async def test_updates_need_a_partners_key_and_a_known_request(
    anonymous: httpx.AsyncClient, partner: str, login: Login
) -> None:
    admin = await login("admin")
    plain = (await admin.post("/api/open311/keys", json={"name": "app"})).json()["api_key"]
    update = {"service_request_id": "QN-2026-000001", "update_id": "x", "status": "closed"}
    refused = await anonymous.post(
        f"{V2}/servicerequestupdates.json", data={**update, "api_key": plain}
    )
    assert refused.status_code == 403
    assert refused.json()[0]["description"] == "this api_key may not post updates"
    missing = await anonymous.post(
        f"{V2}/servicerequestupdates.json",
        data={**update, "api_key": partner, "service_request_id": "QN-2026-999999"},
    )
    assert missing.status_code == 404
    bad = await anonymous.post(
        f"{V2}/servicerequestupdates.json", data={**update, "api_key": partner, "status": "done"}
    )
    assert bad.status_code == 400 and "open or closed" in bad.json()[0]["description"]
    assert (await request_of(anonymous, "QN-2026-000001"))["status"] == "open"


async def test_changes_are_followed_page_by_page(
    anonymous: httpx.AsyncClient, seeded: Runtime, partner: str
) -> None:
    since = (utcnow() - timedelta(minutes=1)).isoformat()
    pages = [
        (
            await anonymous.get(
                f"{V2}/requests.json", params={"updated_after": since, "page": n, "page_size": 4}
            )
        ).json()
        for n in (1, 2, 3)
    ]
    assert [len(p) for p in pages] == [4, 2, 0]
    ids = [r["service_request_id"] for page in pages for r in page]
    assert len(set(ids)) == 6
    stamps = [r["updated_datetime"] for page in pages for r in page]
    assert stamps == sorted(stamps)  # oldest change first
    await anonymous.post(
        f"{V2}/servicerequestupdates.json",
        data={"api_key": partner, "service_request_id": ids[0], "update_id": "n1"},
    )
    latest = stamps[-1]
    changed = (await anonymous.get(f"{V2}/requests.json", params={"updated_after": latest})).json()
    assert ids[0] in [r["service_request_id"] for r in changed]
    wrong = await anonymous.get(f"{V2}/requests.json", params={"page": "0"})
    assert wrong.status_code == 400
