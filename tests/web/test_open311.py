"""Open311 GeoReport v2: every endpoint in JSON and XML, the spec's errors, keys, privacy."""

from __future__ import annotations

from typing import Any
from xml.etree import ElementTree

import httpx
import pytest
from sqlalchemy import select

from qanat.pipeline import process_message
from qanat.runtime import Runtime
from qanat.store.tables import Message, Ticket
from tests.web.conftest import Login

V2 = "/open311/v2"
NOVEMBER = {"start_date": "2026-11-01T00:00:00+03:00", "end_date": "2026-11-30T00:00:00Z"}
POTHOLE = {
    "service_code": "pothole",
    "lat": "26.1398",
    "long": "50.5551",
    "address_string": "Road 2803, Block 928, Riffa",
    "description": "Deep pothole, my car tyre burst. Call me on 3900 1133 or ali@example.bh",
    "email": "ali@example.bh",
    "phone": "39001133",
    "first_name": "Ali",
    "last_name": "Salman",
    "device_id": "android-1f2e",
    "media_url": "https://photos.example.bh/p/123.jpg",
}


def xml(response: httpx.Response) -> ElementTree.Element:
    assert response.headers["content-type"] == "text/xml; charset=utf-8"
    assert response.text.startswith('<?xml version="1.0" encoding="utf-8"?>')
    return ElementTree.fromstring(response.content)


def errors(response: httpx.Response) -> list[dict[str, Any]]:
    """The spec's error list, read from JSON or XML alike."""
    if response.headers["content-type"].startswith("application/json"):
        found: list[dict[str, Any]] = response.json()
        return found
    return [
        {"code": int(e.findtext("code") or 0), "description": e.findtext("description")}
        for e in xml(response).iter("error")
    ]


@pytest.fixture
async def key(login: Login) -> str:
    """An Open311 client's key, issued by an admin through the API."""
    admin = await login("admin")
    issued = await admin.post("/api/open311/keys", json={"name": "fixmystreet"})
    assert issued.status_code == 201 and issued.json()["api_key"].startswith("o311_")
    listed = (await admin.get("/api/open311/keys")).json()
    assert [k["name"] for k in listed] == ["fixmystreet"] and "api_key" not in listed[0]
    secret: str = issued.json()["api_key"]
    return secret


async def test_services_are_the_rules_categories_grouped_by_department(
    anonymous: httpx.AsyncClient,
) -> None:
    services = (await anonymous.get(f"{V2}/services.json")).json()
    pothole = next(s for s in services if s["service_code"] == "pothole")
    assert pothole["service_name"] == "Pothole" and pothole["group"] == "Roads"
    assert (pothole["metadata"], pothole["type"]) == (False, "realtime")
    assert "حفرة في الطريق" in pothole["description"] and "potholes" in pothole["keywords"]
    tree = xml(await anonymous.get(f"{V2}/services.xml"))
    assert tree.tag == "services" and len(tree.findall("service")) == len(services)
    first = tree.find("service")
    assert first is not None and first.findtext("metadata") == "false"
    assert first.findtext("service_code") == services[0]["service_code"]


async def test_a_service_definition_and_an_unknown_service(anonymous: httpx.AsyncClient) -> None:
    definition = await anonymous.get(f"{V2}/services/open_manhole.json")
    assert definition.json() == {"service_code": "open_manhole", "attributes": []}
    tree = xml(await anonymous.get(f"{V2}/services/open_manhole.xml"))
    assert tree.tag == "service_definition" and tree.findtext("service_code") == "open_manhole"
    for fmt in ("json", "xml"):
        missing = await anonymous.get(f"{V2}/services/nothing.{fmt}")
        assert missing.status_code == 404
        assert errors(missing) == [
            {"code": 404, "description": "service_code 'nothing' was not found"}
        ]


async def test_a_posted_request_goes_through_the_intake_as_open311(
    anonymous: httpx.AsyncClient, seeded: Runtime, key: str
) -> None:
    answer = await anonymous.post(f"{V2}/requests.json", data=POTHOLE | {"api_key": key})
    assert answer.status_code == 201
    [created] = answer.json()
    assert set(created) == {"service_request_id", "service_notice", "account_id"}
    assert created["service_notice"].startswith("Roads will handle this request")
    async with seeded.db.session() as session:
        ticket = (
            await session.execute(
                select(Ticket).where(Ticket.reference == created["service_request_id"])
            )
        ).scalar_one()
        message = (
            await session.execute(select(Message).where(Message.ticket_id == ticket.id))
        ).scalar_one()
    assert (ticket.channel, ticket.category, ticket.lat) == ("open311", "pothole", 26.1398)
    assert (message.account, message.sender_email, message.sender_name) == (
        "fixmystreet",
        "ali@example.bh",
        "Ali Salman",
    )
    assert message.channel_metadata["media_url"] == POTHOLE["media_url"]
    tree = xml(await anonymous.post(f"{V2}/requests.xml", data=POTHOLE | {"api_key": key}))
    assert tree.tag == "service_requests"
    assert (tree.findtext("request/service_request_id") or "").startswith("QN-2026-")
    assert tree.find("request/account_id") is not None


@pytest.mark.parametrize("fmt", ["json", "xml"])
async def test_posts_the_spec_refuses(
    anonymous: httpx.AsyncClient, seeded: Runtime, key: str, fmt: str
) -> None:
    location = {k: POTHOLE[k] for k in ("lat", "long")}
    cases = [
        ({"service_code": "pothole", **location}, 403, "api_key is missing: ask the body for one"),
        (
            {"api_key": "o311_guess", "service_code": "pothole", **location},
            403,
            "api_key is not valid (or was revoked)",
        ),
        ({"api_key": key, **location}, 400, "service_code was not provided"),
        (
            {"api_key": key, "service_code": "unicorns", **location},
            404,
            "service_code 'unicorns' was not found",
        ),
        (
            {"api_key": key, "service_code": "pothole"},
            400,
            "a location is required: lat and long, address_string or address_id",
        ),
        (
            {"api_key": key, "service_code": "pothole", "lat": "north", "long": "1"},
            400,
            "lat and long must be WGS84 degrees",
        ),
        (
            {"api_key": key, "service_code": "pothole", **location, "media_url": "file:///etc"},
            400,
            "media_url must be an http or https address",
        ),
    ]
    for form, status, description in cases:
        answer = await anonymous.post(f"{V2}/requests.{fmt}", data=form)
        assert answer.status_code == status, description
        assert errors(answer) == [{"code": status, "description": description}]
    async with seeded.db.session() as session:
        stored = (await session.execute(select(Message).where(Message.channel == "open311"))).all()
    assert stored == []


async def test_a_revoked_key_stops_at_once(
    anonymous: httpx.AsyncClient, login: Login, key: str
) -> None:
    admin = await login("admin")
    assert (await admin.delete("/api/open311/keys/fixmystreet")).json() == {
        "revoked": "fixmystreet"
    }
    answer = await anonymous.post(f"{V2}/requests.json", data=POTHOLE | {"api_key": key})
    assert answer.status_code == 403


async def test_listed_requests_carry_no_personal_data(
    anonymous: httpx.AsyncClient, seeded: Runtime, key: str
) -> None:
    posted = (await anonymous.post(f"{V2}/requests.json", data=POTHOLE | {"api_key": key})).json()
    reference = posted[0]["service_request_id"]
    for fmt in ("json", "xml"):
        listing = await anonymous.get(f"{V2}/requests.{fmt}")
        assert reference in listing.text
        for private in ("Ali", "Salman", "ali@example.bh", "39001133", "3900 1133", "android-1f2e"):
            assert private not in listing.text
        assert "+9733" not in listing.text and "fatima" not in listing.text.lower()
    [request] = (await anonymous.get(f"{V2}/requests/{reference}.json")).json()
    assert request["description"] == "Deep pothole, my car tyre burst. Call me on … or …"
    assert request["media_url"] == POTHOLE["media_url"]
    assert (request["status"], request["agency_responsible"], request["service_name"]) == (
        "open",
        "Roads",
        "Pothole",
    )
    assert request["requested_datetime"].endswith("+03:00")  # W3C, the body's offset


async def test_filters_ids_codes_dates_and_status(
    anonymous: httpx.AsyncClient, login: Login, key: str
) -> None:
    admin = await login("admin")
    await admin.patch("/api/tickets/QN-2026-000004", json={"status": "resolved"})
    listed = await anonymous.get(f"{V2}/requests.json", params=NOVEMBER)
    assert [r["service_request_id"] for r in listed.json()] == [
        f"QN-2026-00000{n}" for n in (6, 5, 4, 3, 2, 1)
    ]
    closed = await anonymous.get(f"{V2}/requests.json", params=NOVEMBER | {"status": "closed"})
    assert [(r["service_request_id"], r["status"]) for r in closed.json()] == [
        ("QN-2026-000004", "closed")
    ]
    ids = await anonymous.get(
        f"{V2}/requests.json", params={"service_request_id": "QN-2026-000003,qn-2026-1"}
    )
    assert {r["service_request_id"] for r in ids.json()} == {"QN-2026-000001", "QN-2026-000003"}
    posted = await anonymous.post(f"{V2}/requests.json", data=POTHOLE | {"api_key": key})
    # No dates: the last 90 days. The seed's tickets were routed without a category.
    potholes = await anonymous.get(f"{V2}/requests.json", params={"service_code": "pothole,x"})
    assert [r["service_request_id"] for r in potholes.json()] == [
        posted.json()[0]["service_request_id"]
    ]
    manholes = await anonymous.get(f"{V2}/requests.json", params={"service_code": "open_manhole"})
    assert manholes.json() == []
    tree = xml(await anonymous.get(f"{V2}/requests.xml", params=NOVEMBER | {"status": "open"}))
    assert len(tree.findall("request")) == 5 and tree.findtext("request/status") == "open"


async def test_wrong_listing_parameters_get_the_spec_error(anonymous: httpx.AsyncClient) -> None:
    for params, description in (
        (
            {"start_date": "2026-01-01T00:00:00Z", "end_date": "2026-11-01T00:00:00Z"},
            "start_date and end_date may not span more than 90 days",
        ),
        (
            {"start_date": "yesterday"},
            "start_date must be a W3C date and time with its offset, like 2026-11-01T00:00:00Z",
        ),
        ({"status": "pending"}, "status must be open, closed, or both (comma separated)"),
    ):
        for fmt in ("json", "xml"):
            answer = await anonymous.get(f"{V2}/requests.{fmt}", params=params)
            assert answer.status_code == 400 and errors(answer) == [
                {"code": 400, "description": description}
            ]
    missing = await anonymous.get(f"{V2}/requests/QN-2026-999999.xml")
    assert missing.status_code == 404
    assert errors(missing)[0]["description"] == "service_request_id 'QN-2026-999999' was not found"
    wrong_format = await anonymous.get(f"{V2}/services.csv")
    assert wrong_format.status_code == 404 and errors(wrong_format)[0]["code"] == 404


async def test_extensions_name_the_channel_kind_and_primary(
    anonymous: httpx.AsyncClient, login: Login
) -> None:
    agent = await login("agent_sewage")
    linked = await agent.put(
        "/api/tickets/QN-2026-000002/primary", json={"primary_reference": "QN-2026-000001"}
    )
    assert linked.status_code == 200
    plain = (await anonymous.get(f"{V2}/requests/QN-2026-000002.json")).json()[0]
    assert "extended_attributes" not in plain and plain["status_notes"] == "Duplicate request."
    [extended] = (
        await anonymous.get(f"{V2}/requests/QN-2026-000002.json", params={"extensions": "true"})
    ).json()
    assert extended["extended_attributes"] == {
        "channel": "x",
        "kind": "complaint",
        "duplicate_of": "QN-2026-000001",
    }
    tree = xml(
        await anonymous.get(f"{V2}/requests/QN-2026-000002.xml", params={"extensions": "true"})
    )
    assert tree.findtext("request/extended_attributes/duplicate_of") == "QN-2026-000001"
    assert plain["description"] is None  # an X post's text is not republished


class HeldQueue:
    """A queue whose worker has not come yet: messages wait as ``received``."""

    def __init__(self) -> None:
        self.held: list[int] = []

    async def enqueue_processing(self, message_id: int, *, attempt: int = 0) -> None:
        self.held.append(message_id)

    async def close(self) -> None:
        """Nothing to release."""


async def test_a_queued_request_gets_a_token_then_its_id(
    anonymous: httpx.AsyncClient, seeded: Runtime, key: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    queue = HeldQueue()
    monkeypatch.setattr(seeded.intake, "_queue", queue)
    monkeypatch.setattr(seeded, "queue", queue)
    seeded.settings.public_wait_seconds = 0
    services = (await anonymous.get(f"{V2}/services.json")).json()
    assert {s["type"] for s in services} == {"batch"}
    [answer] = (await anonymous.post(f"{V2}/requests.json", data=POTHOLE | {"api_key": key})).json()
    assert "service_request_id" not in answer and len(answer["token"]) == 32
    waiting = await anonymous.get(f"{V2}/tokens/{answer['token']}.json")
    assert waiting.json() == [{"service_request_id": None, "token": answer["token"]}]
    await process_message(seeded, queue.held[0])
    tree = xml(await anonymous.get(f"{V2}/tokens/{answer['token']}.xml"))
    assert (tree.findtext("request/service_request_id") or "").startswith("QN-2026-")
    unknown = await anonymous.get(f"{V2}/tokens/{'0' * 32}.json")
    assert unknown.status_code == 404


async def test_discovery_names_the_endpoint_and_its_formats(anonymous: httpx.AsyncClient) -> None:
    found = (await anonymous.get("/open311/discovery.json")).json()
    [endpoint] = found["endpoints"]
    assert endpoint["url"] == "http://qanat.test/open311/v2"
    assert endpoint["formats"] == ["text/xml", "application/json"]
    tree = xml(await anonymous.get("/open311/discovery.xml"))
    assert [f.text for f in tree.iter("format")] == ["text/xml", "application/json"]
