"""The REST API and health endpoint, over HTTP against the real app, as an admin's token."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from qanat.ingest.interchange import import_file
from qanat.runtime import Runtime
from qanat.store import staff
from qanat.store.tables import User
from qanat.web.app import create_app

IMPORTS = Path(__file__).parent.parent / "fixtures" / "import"


@pytest.fixture
async def client(runtime: Runtime, password_hash: str) -> AsyncIterator[httpx.AsyncClient]:
    await import_file(runtime.intake, IMPORTS / "sewage_block_305.jsonl")
    async with runtime.db.writing() as session:
        admin = User(
            username="root", display_name="Root", password_hash=password_hash, role="admin"
        )
        session.add(admin)
        await session.flush()
        assert admin.id is not None
        _token, secret = await staff.create_api_token(
            session, name="tests", user_id=admin.id, scopes=["read"], created_by_id=None
        )
    app = create_app(runtime=runtime)
    transport = httpx.ASGITransport(app=app)
    headers = {"Authorization": f"Bearer {secret}"}
    async with httpx.AsyncClient(
        transport=transport, base_url="http://qanat.test", headers=headers
    ) as http:
        yield http


async def test_the_api_refuses_requests_without_credentials(runtime: Runtime) -> None:
    app = create_app(runtime=runtime)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://qanat.test") as http:
        for path in ("/api/tickets", "/api/tickets/QN-2026-000001", "/api/summary"):
            response = await http.get(path)
            assert response.status_code == 401, path
            assert response.headers["www-authenticate"] == "Bearer"
        forged = await http.get("/api/tickets", headers={"Authorization": "Bearer qanat_nope"})
        assert forged.status_code == 401


async def test_health_reports_the_store(client: httpx.AsyncClient) -> None:
    response = await client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"database": "ok", "redis": "not configured (jobs run inline)"}


async def test_health_is_503_when_redis_is_configured_but_down(runtime: Runtime) -> None:
    runtime.settings = runtime.settings.model_copy(update={"redis_url": "redis://127.0.0.1:1/0"})
    app = create_app(runtime=runtime)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://qanat.test") as http:
        response = await http.get("/healthz")
    assert response.status_code == 503
    assert response.json()["database"] == "ok"
    assert response.json()["redis"].startswith("error")


async def test_tickets_are_listed_newest_first_and_filtered(client: httpx.AsyncClient) -> None:
    everything = (await client.get("/api/tickets")).json()
    assert [t["reference"] for t in everything] == [
        "QN-2026-000004",
        "QN-2026-000003",
        "QN-2026-000002",
        "QN-2026-000001",
    ]
    sewage = (await client.get("/api/tickets", params={"department": "sewage"})).json()
    assert {t["reference"] for t in sewage} == {"QN-2026-000001", "QN-2026-000002"}
    by_channel = (await client.get("/api/tickets", params={"channel": "email"})).json()
    assert [t["reference"] for t in by_channel] == ["QN-2026-000003"]


async def test_a_ticket_shows_its_timeline_and_duplicates(client: httpx.AsyncClient) -> None:
    ticket = (await client.get("/api/tickets/QN-2026-000001")).json()
    assert [m["channel"] for m in ticket["messages"]] == ["sms", "call_centre"]
    assert ticket["duplicates"] == [{"reference": "QN-2026-000002", "channel": "x"}]
    assert ticket["reporters"] == 2
    routed = next(e for e in ticket["events"] if e["type"] == "routed")
    assert routed["data"]["department"] == "sewage" and routed["data"]["reason"]


async def test_an_unknown_reference_is_404(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/tickets/QN-2026-999999")
    assert response.status_code == 404
    assert response.json() == {"detail": "no ticket QN-2026-999999"}


async def test_summary_counts(client: httpx.AsyncClient) -> None:
    summary = (await client.get("/api/summary")).json()
    assert summary["messages"] == 6 and summary["tickets"] == 4
    assert summary["duplicates_linked"] == 1 and summary["follow_ups"] == 2
    assert summary["contacts_on_several_channels"] == 1
    assert summary["dead_letters"] == 0
    assert (await client.get("/api/dead-letters")).json() == []
