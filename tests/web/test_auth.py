"""Logging in and out, cookies, CSRF, lock-out, API tokens and two-step verification."""

from __future__ import annotations

import re
import time

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import func, select
from sqlmodel import col

from qanat.runtime import Runtime
from qanat.store import staff
from qanat.store.tables import (
    ApiToken,
    AuditEntry,
    LoginAttempt,
    StaffSession,
    StaffTotp,
    utcnow,
)
from qanat.web import totp
from qanat.web.app import create_app
from qanat.web.auth import LOGIN_COOKIE, SESSION_COOKIE
from tests.web.conftest import PASSWORD, Login, bearer_client


def client_for(
    app: FastAPI, *, ip: str = "127.0.0.1", base: str = "http://qanat.test"
) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app, client=(ip, 50000))
    return httpx.AsyncClient(transport=transport, base_url=base)


async def log_in(
    client: httpx.AsyncClient, username: str, password: str, **extra: str
) -> httpx.Response:
    form = await client.get("/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', form.text)
    assert token is not None
    data = {"username": username, "password": password, "csrf_token": token.group(1), **extra}
    return await client.post("/login", data=data)


async def test_logging_in_sets_a_protected_session_cookie(app: FastAPI, seeded: Runtime) -> None:
    async with client_for(app) as client:
        response = await log_in(client, "agent_sewage", PASSWORD)
        assert response.status_code == 303 and response.headers["location"] == "/inbox"
        cookie = next(
            c for c in response.headers.get_list("set-cookie") if c.startswith(SESSION_COOKIE)
        )
        assert "HttpOnly" in cookie and "SameSite=lax" in cookie
        assert "Secure" not in cookie  # development: plain http on localhost
        inbox = await client.get("/inbox")
        assert inbox.status_code == 200 and 'dir="rtl"' in inbox.text
    async with seeded.db.session() as session:
        stored = (await session.execute(select(StaffSession.token_hash))).scalars().all()
    raw = cookie.split(";")[0].split("=", 1)[1]
    assert stored == [staff.token_digest(raw)]  # only the hash is kept


async def test_the_cookie_is_secure_outside_development(seeded: Runtime) -> None:
    seeded.settings = seeded.settings.model_copy(
        update={"environment": "production", "secret_key": "a-real-secret-of-some-length"}
    )
    # Production is served over HTTPS: the log-in form's own cookie is Secure too.
    async with client_for(create_app(runtime=seeded), base="https://qanat.test") as client:
        response = await log_in(client, "admin", PASSWORD)
    cookie = next(
        c for c in response.headers.get_list("set-cookie") if c.startswith(SESSION_COOKIE)
    )
    assert "Secure" in cookie


async def test_a_wrong_password_is_refused_and_audited(app: FastAPI, seeded: Runtime) -> None:
    async with client_for(app) as client:
        response = await log_in(client, "agent_sewage", "wrong password")
        assert response.status_code == 401
        assert "غير صحيحة" in response.text
        assert SESSION_COOKIE not in response.cookies
        unknown = await log_in(client, "nobody", "wrong password")
        assert unknown.status_code == 401
    async with seeded.db.session() as session:
        actions = (await session.execute(select(AuditEntry.action))).scalars().all()
    assert actions.count("login_failed") == 2


async def test_five_failures_lock_the_account_even_for_the_right_password(
    app: FastAPI, seeded: Runtime
) -> None:
    async with client_for(app) as client:
        for _ in range(staff.LOCKOUT_FAILURES):
            assert (await log_in(client, "agent_roads", "guess")).status_code == 401
        locked = await log_in(client, "agent_roads", PASSWORD)
        assert locked.status_code == 429
        assert "15" in locked.text or "14" in locked.text  # minutes left
        other = await log_in(client, "agent_sewage", PASSWORD)
        assert other.status_code == 303  # the lock is per account
    async with seeded.db.session() as session:
        attempts = (
            await session.execute(
                select(func.count()).where(col(LoginAttempt.username) == "agent_roads")
            )
        ).scalar_one()
    assert attempts == staff.LOCKOUT_FAILURES  # locked tries are not counted again


async def test_a_strangers_guesses_do_not_lock_the_owner_out(app: FastAPI, seeded: Runtime) -> None:
    async with client_for(app, ip="10.1.1.1") as owner:
        assert (await log_in(owner, "sup_sewage", PASSWORD)).status_code == 303  # known here
    async with client_for(app, ip="203.0.113.7") as stranger:
        for _ in range(staff.LOCKOUT_FAILURES):
            await log_in(stranger, "sup_sewage", "guess")
        assert (await log_in(stranger, "sup_sewage", PASSWORD)).status_code == 429
    async with client_for(app, ip="10.1.1.1") as owner:
        assert (await log_in(owner, "sup_sewage", PASSWORD)).status_code == 303


async def test_guesses_from_many_addresses_stop_new_addresses_only(
    app: FastAPI, seeded: Runtime
) -> None:
    async with client_for(app, ip="10.1.1.2") as owner:
        assert (await log_in(owner, "admin", PASSWORD)).status_code == 303
    for n in range(staff.ACCOUNT_FAILURES // 2):  # two guesses from each of many addresses
        async with client_for(app, ip=f"198.51.100.{n}") as botnet:
            for _ in range(2):
                await log_in(botnet, "admin", "guess")
    async with client_for(app, ip="198.51.100.250") as newcomer:
        assert (await log_in(newcomer, "admin", PASSWORD)).status_code == 429
    async with client_for(app, ip="10.1.1.2") as owner:
        assert (await log_in(owner, "admin", PASSWORD)).status_code == 303


async def test_the_cookie_is_secure_when_served_over_https(app: FastAPI) -> None:
    async with client_for(app, base="https://qanat.test") as client:
        response = await log_in(client, "admin", PASSWORD)
    cookie = next(
        c for c in response.headers.get_list("set-cookie") if c.startswith(SESSION_COOKIE)
    )
    assert "Secure" in cookie


async def test_the_login_form_needs_its_csrf_token(app: FastAPI) -> None:
    async with client_for(app) as client:
        await client.get("/login")
        response = await client.post(
            "/login", data={"username": "admin", "password": PASSWORD, "csrf_token": "forged"}
        )
        assert response.status_code == 403
        assert SESSION_COOKIE not in response.cookies
        assert client.cookies.get(LOGIN_COOKIE)


async def test_login_only_redirects_within_the_site(app: FastAPI) -> None:
    async with client_for(app) as client:
        response = await log_in(client, "admin", PASSWORD, next="//evil.example/")
        assert response.headers["location"] == "/inbox"
    async with client_for(app) as client:
        response = await log_in(client, "admin", PASSWORD, next="/tickets/QN-2026-000001")
        assert response.headers["location"] == "/tickets/QN-2026-000001"


async def test_logging_out_ends_the_session(login: Login) -> None:
    client = await login("agent_sewage")
    assert (await client.get("/inbox")).status_code == 200
    response = await client.post("/logout")
    assert response.status_code == 303 and response.headers["location"] == "/login"
    stale = await client.get("/inbox")
    assert stale.status_code == 303 and stale.headers["location"].startswith("/login")


async def test_forms_and_api_changes_need_the_csrf_token(login: Login) -> None:
    client = await login("agent_sewage")
    client.headers.pop("x-csrf-token")
    form = await client.post("/tickets/QN-2026-000001/update", data={"mode": "note", "text": "x"})
    assert form.status_code == 403
    api = await client.post("/api/tickets/QN-2026-000001/notes", json={"text": "x"})
    assert api.status_code == 403
    wrong = await client.post(
        "/tickets/QN-2026-000001/update",
        data={"mode": "note", "text": "x", "csrf_token": "0" * 64},
    )
    assert wrong.status_code == 403
    page = await client.get("/tickets/QN-2026-000001")
    token = re.search(r'name="csrf-token" content="([^"]+)"', page.text)
    assert token is not None
    right = await client.post(
        "/tickets/QN-2026-000001/update",
        data={"mode": "note", "text": "x", "csrf_token": token.group(1)},
    )
    assert right.status_code == 303


async def test_api_tokens_are_hashed_scoped_and_revocable(
    app: FastAPI, seeded: Runtime, team: dict[str, int]
) -> None:
    client, token_id = await bearer_client(
        app, seeded, user_id=team["agent_sewage"], scopes=["read"]
    )
    async with client:
        assert (await client.get("/api/tickets/QN-2026-000001")).status_code == 200
        assert (await client.get("/api/tickets/QN-2026-000003")).status_code == 404  # roads
        write = await client.post("/api/tickets/QN-2026-000001/notes", json={"text": "x"})
        assert write.status_code == 403
        async with seeded.db.writing() as session:
            assert await staff.revoke_api_token(session, token_id=token_id, now=utcnow())
        assert (await client.get("/api/tickets")).status_code == 401
    async with seeded.db.session() as session:
        stored = (await session.execute(select(ApiToken))).scalar_one()
    secret = client.headers["authorization"].split()[1]
    assert stored.token_hash == staff.token_digest(secret) and secret not in stored.prefix + "…"
    assert stored.last_used_at is not None


async def test_a_write_token_works_without_csrf(
    app: FastAPI, seeded: Runtime, team: dict[str, int]
) -> None:
    client, _ = await bearer_client(
        app, seeded, user_id=team["agent_sewage"], scopes=["read", "write"]
    )
    async with client:
        response = await client.post(
            "/api/tickets/QN-2026-000001/notes", json={"text": "من التطبيق"}
        )
        assert response.status_code == 201
        me = (await client.get("/api/me")).json()
    assert me == {
        "username": "agent_sewage",
        "display_name": "agent sewage",
        "role": "agent",
        "language": "ar",
        "via": "token",
        "scopes": ["read", "write"],
    }


async def test_admins_issue_tokens_only_from_a_session(
    login: Login, app: FastAPI, seeded: Runtime, team: dict[str, int]
) -> None:
    admin = await login("admin")
    created = await admin.post(
        "/api/tokens", json={"name": "app", "username": "rep305", "scopes": ["submit"]}
    )
    assert created.status_code == 201
    secret = created.json()["token"]
    assert secret.startswith(staff.TOKEN_PREFIX)
    listed = (await admin.get("/api/tokens")).json()
    assert [t["name"] for t in listed] == ["app"] and "token" not in listed[0]
    async with client_for(app) as rep_app:
        rep_app.headers["authorization"] = f"Bearer {secret}"
        submitted = await rep_app.post("/api/submissions", json={"text": "حفرة في طريق 12"})
        assert submitted.status_code == 201 and submitted.json()["reference"]
        assert (await rep_app.get("/api/tickets")).status_code == 403  # no read scope
    bad = await admin.post(
        "/api/tokens", json={"name": "x", "username": "admin", "scopes": ["god"]}
    )
    assert bad.status_code == 400


async def test_two_step_verification(login: Login, app: FastAPI, seeded: Runtime) -> None:
    agent = await login("agent_sewage")
    started = await agent.post("/account/totp")
    secret = re.search(r'id="totp-secret">([A-Z2-7]+)<', started.text)
    assert secret is not None
    assert "<svg" in started.text and 'id="totp-qr"' in started.text  # the QR code to scan
    wrong = await agent.post("/account/totp/confirm", data={"code": "000000"})
    assert wrong.status_code == 422 and "الرمز غير صحيح" in wrong.text
    now_step = totp.step_of(time.time())
    confirmed = await agent.post(
        "/account/totp/confirm", data={"code": totp.code_at(secret.group(1), now_step)}
    )
    assert confirmed.status_code == 200
    codes = re.findall(r"<li><code>([0-9a-f]{6}-[0-9a-f]{6})</code></li>", confirmed.text)
    assert len(codes) == 10  # recovery codes, shown once
    async with client_for(app) as client:
        without = await log_in(client, "agent_sewage", PASSWORD)
        assert without.status_code == 401
        replayed = await log_in(
            client, "agent_sewage", PASSWORD, code=totp.code_at(secret.group(1), now_step)
        )
        assert replayed.status_code == 401  # a code works once
    async with seeded.db.writing() as session:
        second = (await session.execute(select(StaffTotp))).scalar_one()
        second.last_step = now_step - 5  # as if the code was used long ago
    async with client_for(app) as client:
        fresh = await log_in(
            client, "agent_sewage", PASSWORD, code=totp.code_at(secret.group(1), now_step)
        )
        assert fresh.status_code == 303
    async with client_for(app) as client:  # without the phone: a recovery code, once
        recovered = await log_in(client, "agent_sewage", PASSWORD, code=codes[0].upper())
        assert recovered.status_code == 303
    async with client_for(app) as client:
        assert (await log_in(client, "agent_sewage", PASSWORD, code=codes[0])).status_code == 401


@pytest.mark.parametrize(
    ("step", "expected"),
    [(1, "287082"), (37037036, "081804"), (37037037, "050471"), (41152263, "005924")],
)
def test_totp_codes_match_rfc_6238(step: int, expected: str) -> None:
    # RFC 6238 appendix B, SHA-1 key "12345678901234567890", last six of eight digits.
    secret = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"
    assert totp.code_at(secret, step) == expected
    assert totp.matching_step(secret, expected, unix_seconds=step * 30 + 1, after_step=0) == step
    assert totp.matching_step(secret, expected, unix_seconds=step * 30, after_step=step) is None


async def test_admins_add_and_deactivate_staff(
    login: Login, app: FastAPI, team: dict[str, int]
) -> None:
    admin = await login("admin")
    added = await admin.post(
        "/admin/users",
        data={
            "username": "agent_parks",
            "display_name": "موظف الحدائق",
            "role": "agent",
            "department": "parks",
            "password": "a long enough password",
        },
    )
    assert added.status_code == 303
    page = (await admin.get("/settings/users")).text
    assert "agent_parks" in page and "موظف الحدائق" in page
    taken = await admin.post(
        "/admin/users",
        data={
            "username": "agent_parks",
            "display_name": "x",
            "role": "agent",
            "password": "x" * 12,
        },
    )
    assert taken.status_code == 400
    async with client_for(app) as client:
        assert (await log_in(client, "agent_parks", "a long enough password")).status_code == 303
    agent = await login("agent_roads")
    assert (await agent.get("/api/me")).status_code == 200
    off = await admin.post(f"/admin/users/{team['agent_roads']}/active", data={"active": "false"})
    assert off.status_code == 303
    assert (await agent.get("/api/me")).status_code == 401  # the session stops at once
    itself = await admin.post(f"/admin/users/{team['admin']}/active", data={"active": "false"})
    assert itself.status_code == 400
