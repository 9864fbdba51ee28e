"""The citizens' app: only an app token may send, retries are one report, photos by bytes."""

from __future__ import annotations

import base64
from pathlib import Path

import httpx
from fastapi import FastAPI
from sqlalchemy import func, select

from qanat.runtime import Runtime
from qanat.store.tables import Attachment, Message, Ticket
from tests.web.conftest import Login, bearer_client

FIXTURES = Path(__file__).parent.parent / "fixtures" / "web"
PNG = base64.b64encode((FIXTURES / "pothole.png").read_bytes()).decode()
REPORT = {
    "client_id": "ios-8f2a6c1e-0001",
    "kind": "complaint",
    "category": "street_light_out",
    "text": "الإنارة مطفأة في طريق 3803 مجمع 338 منذ أسبوع",
    "block": "338",
    "road": "3803",
    "lat": 26.2128,
    "lon": 50.5893,
    "name": "نوال",
    "phone": "+97336660338",
    "photos": [{"name": "street.jpg", "content_base64": PNG}],
}


async def app_client(app: FastAPI, seeded: Runtime, team: dict[str, int]) -> httpx.AsyncClient:
    client, _ = await bearer_client(app, seeded, user_id=team["admin"], scopes=["app"])
    return client


async def test_an_app_report_is_saved_once_as_channel_app(
    app: FastAPI, seeded: Runtime, team: dict[str, int]
) -> None:
    client = await app_client(app, seeded, team)
    first = await client.post("/api/app/reports", json=REPORT)
    retry = await client.post("/api/app/reports", json=REPORT)  # the connection dropped
    assert (first.status_code, retry.status_code) == (201, 200)
    assert first.json()["reference"] == retry.json()["reference"] is not None
    assert (first.json()["created"], retry.json()["created"]) == (True, False)
    async with seeded.db.session() as session:
        ticket = (
            await session.execute(
                select(Ticket).where(Ticket.reference == first.json()["reference"])
            )
        ).scalar_one()
        messages = (
            await session.execute(select(Message).where(Message.channel == "app"))
        ).scalars()
        [message] = [m for m in messages if m.account == "citizens"]
        photo = (await session.execute(select(Attachment))).scalar_one()
    assert (ticket.channel, ticket.category, ticket.block) == ("app", "street_light_out", "338")
    assert message.external_id == "admin:ios-8f2a6c1e-0001"
    assert (photo.name, photo.content_type) == ("street.png", "image/png")
    status = await client.post(
        "/api/app/status", json={"reference": ticket.reference, "contact": "36660338"}
    )
    assert status.status_code == 200 and status.json()["status"] == "new"
    assert status.json()["department"]["name_en"] == "Street lighting"
    wrong = await client.post(
        "/api/app/status", json={"reference": ticket.reference, "contact": "36660339"}
    )
    assert wrong.status_code == 404


async def test_bad_photos_and_fields_are_refused_with_the_reason(
    app: FastAPI, seeded: Runtime, team: dict[str, int]
) -> None:
    client = await app_client(app, seeded, team)
    program = base64.b64encode((FIXTURES / "setup.jpg").read_bytes()).decode()
    for photos, status, reason in (
        ([{"name": "setup.jpg", "content_base64": program}], 422, "Windows program"),
        ([{"name": "x.png", "content_base64": "not base64!"}], 400, "not base64"),
    ):
        answer = await client.post("/api/app/reports", json=REPORT | {"photos": photos})
        assert answer.status_code == status and reason in answer.json()["detail"]
    seeded.settings.photo_max_bytes = 40
    too_big = await client.post("/api/app/reports", json=REPORT)
    assert too_big.status_code == 413
    no_contact = REPORT | {"phone": None, "photos": []}
    assert (await client.post("/api/app/reports", json=no_contact)).status_code == 400
    wrong_field = await client.post("/api/app/reports", json=REPORT | {"block": "3"})
    assert wrong_field.status_code == 422
    assert wrong_field.json()["detail"][0]["msg"].endswith(
        "block must be a number of 3 or 4 digits"
    )
    async with seeded.db.session() as session:
        count = (
            await session.execute(select(func.count()).where(Message.account == "citizens"))
        ).scalar_one()
    assert count == 0


async def test_only_a_token_with_the_app_scope_may_send(
    app: FastAPI, seeded: Runtime, team: dict[str, int], login: Login
) -> None:
    reader, _ = await bearer_client(app, seeded, user_id=team["admin"], scopes=["read", "write"])
    admin = await login("admin")  # a browser session is not the app either
    for client in (reader, admin):
        assert (await client.post("/api/app/reports", json=REPORT)).status_code == 403
    app_token = await app_client(app, seeded, team)
    assert (await app_token.get("/api/tickets")).status_code == 403  # and it reads nothing
    services = (await app_token.get("/api/app/services")).json()
    assert {
        "code": "pothole",
        "name_en": "Pothole",
        "name_ar": "حفرة في الطريق",
        "department_en": "Roads",
        "department_ar": "الطرق",
    } in services
