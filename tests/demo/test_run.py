"""The demo makes its own staff accounts, so the inbox can be opened straight away."""

from __future__ import annotations

from rich.console import Console
from sqlalchemy import select

from qanat.auth import verify_password
from qanat.demo.run import DEMO_PASSWORD, DEMO_STAFF, run_demo
from qanat.runtime import Runtime
from qanat.store.tables import User


async def usernames(runtime: Runtime) -> dict[str, User]:
    async with runtime.db.session() as session:
        return {u.username: u for u in (await session.execute(select(User))).scalars()}


async def test_the_demo_creates_its_logins_once(runtime: Runtime) -> None:
    console = Console(record=True, width=120)
    await run_demo(runtime, console=console)
    await run_demo(runtime, console=console)
    users = await usernames(runtime)
    assert set(users) == set(DEMO_STAFF)
    assert verify_password(users["agent"].password_hash, DEMO_PASSWORD)
    assert users["rep305"].block == "305" and users["rep305"].role == "representative"
    assert DEMO_PASSWORD in console.export_text()


async def test_no_demo_logins_in_a_database_the_demo_does_not_own(runtime: Runtime) -> None:
    console = Console(record=True, width=120)
    await run_demo(runtime, console=console, with_staff=False)
    assert await usernames(runtime) == {}
    assert DEMO_PASSWORD not in console.export_text()
