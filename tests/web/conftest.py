"""Fixtures for the inbox: a team of staff, seeded tickets, and clients logged in as each.

Sessions are opened directly in the store (the log-in form itself is tested in
test_auth.py), so a test does not pay for an argon2 check per client.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from qanat.auth import hash_password
from qanat.ingest.interchange import import_file
from qanat.runtime import Runtime
from qanat.store import queries, staff
from qanat.store.tables import User, utcnow
from qanat.web.app import create_app
from qanat.web.auth import CSRF_HEADER, SESSION_COOKIE, csrf_token_for

SEED = Path(__file__).parent / "fixtures" / "inbox_seed.jsonl"
PASSWORD = "correct horse battery staple"

#: username → (role, department code, block)
TEAM = {
    "admin": ("admin", None, None),
    "sup_sewage": ("supervisor", "sewage", None),
    "agent_sewage": ("agent", "sewage", None),
    "agent_roads": ("agent", "roads", None),
    "rep305": ("representative", None, "305"),
}

Login = Callable[[str], Awaitable[httpx.AsyncClient]]


@pytest.fixture(scope="session")
def password_hash() -> str:
    """One argon2 hash for every test account (hashing is deliberately slow)."""
    return hash_password(PASSWORD)


@pytest.fixture
async def team(runtime: Runtime, password_hash: str) -> dict[str, int]:
    """The staff accounts of :data:`TEAM`; username → user id."""
    ids: dict[str, int] = {}
    async with runtime.db.writing() as session:
        departments = await queries.department_ids(session)
        for username, (role, department, block) in TEAM.items():
            user = User(
                username=username,
                display_name=username.replace("_", " "),
                password_hash=password_hash,
                role=role,
                department_id=departments[department] if department else None,
                block=block,
            )
            session.add(user)
            await session.flush()
            assert user.id is not None
            ids[username] = user.id
    return ids


@pytest.fixture
async def seeded(runtime: Runtime, team: dict[str, int]) -> Runtime:
    """The runtime with the seed messages processed into tickets QN-2026-000001…6."""
    report = await import_file(runtime.intake, SEED)
    assert report.saved == 6 and not report.bad_lines
    return runtime


@pytest.fixture
def app(seeded: Runtime) -> FastAPI:
    """The web app on the seeded runtime."""
    return create_app(runtime=seeded)


@pytest.fixture
async def login(app: FastAPI, seeded: Runtime, team: dict[str, int]) -> AsyncIterator[Login]:
    """``await login(username)``: a client with that person's session and CSRF header."""
    clients: list[httpx.AsyncClient] = []

    async def make(username: str) -> httpx.AsyncClient:
        async with seeded.db.writing() as session:
            token = await staff.open_session(
                session, user_id=team[username], now=utcnow(), ip=None, user_agent="tests"
            )
        client = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app),
            base_url="http://qanat.test",
            cookies={SESSION_COOKIE: token},
            headers={CSRF_HEADER: csrf_token_for(seeded.settings, token)},
        )
        clients.append(client)
        return client

    yield make
    for client in clients:
        await client.aclose()


@pytest.fixture
async def anonymous(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """A client with no session."""
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://qanat.test"
    ) as client:
        yield client


async def bearer_client(
    app: FastAPI, runtime: Runtime, *, user_id: int, scopes: list[str]
) -> tuple[httpx.AsyncClient, int]:
    """A client with a fresh API token for ``user_id`` (and the token's id)."""
    async with runtime.db.writing() as session:
        token, secret = await staff.create_api_token(
            session, name="tests", user_id=user_id, scopes=scopes, created_by_id=None
        )
    assert token.id is not None
    client = httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app),
        base_url="http://qanat.test",
        headers={"Authorization": f"Bearer {secret}"},
    )
    return client, token.id
