"""Settings: staff accounts changed in the UI, and one-time password reset links."""

from __future__ import annotations

import re

from fastapi import FastAPI
from sqlmodel import select

from qanat.runtime import Runtime
from qanat.store.tables import User
from tests.web.conftest import PASSWORD, Login
from tests.web.test_auth import client_for, log_in


async def person(runtime: Runtime, username: str) -> User:
    async with runtime.db.session() as session:
        return (await session.execute(select(User).where(User.username == username))).scalar_one()


async def test_an_account_gets_a_department_languages_and_a_shift(
    seeded: Runtime, login: Login
) -> None:
    admin = await login("admin")
    agent = await person(seeded, "agent_roads")
    form = {
        "display_name": "سالم",
        "role": "supervisor",
        "department": "sewage",
        "languages": ["ar"],
        "shift": "07:00-15:00",
        "email": "salem@works.example.bh",
    }
    bad = await admin.post(
        f"/settings/users/{agent.id}", data=form | {"shift": "7-3", "languages": []}
    )
    assert bad.status_code == 422
    assert "اختر لغة واحدة على الأقل." in bad.text and "07:00-14:15" in bad.text
    assert (await admin.post(f"/settings/users/{agent.id}", data=form)).status_code == 303
    changed = await person(seeded, "agent_roads")
    assert (changed.display_name, changed.role, changed.languages, changed.shift) == (
        "سالم",
        "supervisor",
        ["ar"],
        "07:00-15:00",
    )
    assert (await (await login("agent_roads")).get("/tickets/QN-2026-000001")).status_code == 200


async def test_a_reset_link_works_once(seeded: Runtime, login: Login, app: FastAPI) -> None:
    admin = await login("admin")
    agent = await person(seeded, "agent_sewage")
    made = await admin.post(f"/settings/users/{agent.id}/reset-link")
    link = re.search(
        r'id="reset-link">[^<]*<code dir="ltr">http://qanat.test(/reset/[^<]+)</code>', made.text
    )
    assert link is not None
    async with client_for(app) as client:
        assert (await client.get(link.group(1))).status_code == 200
        short = await client.post(link.group(1), data={"new": "short", "again": "short"})
        assert short.status_code == 422 and "أقصر من عشرة أحرف" in short.text
        done = await client.post(
            link.group(1), data={"new": "a brand new password", "again": "a brand new password"}
        )
        assert done.status_code == 303 and done.headers["location"] == "/login?changed=1"
        assert (await client.get(link.group(1))).status_code == 404  # spent
    async with client_for(app) as client:
        assert (await log_in(client, "agent_sewage", "a brand new password")).status_code == 303


async def test_an_old_session_ends_with_a_new_password(login: Login, app: FastAPI) -> None:
    agent = await login("agent_sewage")
    wrong = await agent.post(
        "/account/password", data={"current": "nope", "new": "x" * 12, "again": "x" * 12}
    )
    assert wrong.status_code == 422 and "كلمة المرور غير صحيحة." in wrong.text
    differ = await agent.post(
        "/account/password", data={"current": PASSWORD, "new": "x" * 12, "again": "y" * 12}
    )
    assert differ.status_code == 422 and "كلمتا المرور غير متطابقتين." in differ.text
    changed = await agent.post(
        "/account/password",
        data={"current": PASSWORD, "new": "my new long password", "again": "my new long password"},
    )
    assert changed.status_code == 303
    stale = await agent.get("/inbox")
    assert stale.status_code == 303 and stale.headers["location"].startswith("/login")
    async with client_for(app) as client:
        assert (await log_in(client, "agent_sewage", PASSWORD)).status_code == 401
    async with client_for(app) as client:
        assert (await log_in(client, "agent_sewage", "my new long password")).status_code == 303
