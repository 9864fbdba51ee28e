"""Server-sent events: new tickets and changes reach the people who may see them."""

from __future__ import annotations

import asyncio
import contextlib
import json
from datetime import UTC, datetime

import httpx
import pytest
from fastapi import FastAPI

from qanat.model import Inbound, Sender
from qanat.runtime import Runtime
from qanat.store import staff
from qanat.store.tables import User
from qanat.web import live
from tests.web.conftest import Login


async def viewer(runtime: Runtime, username: str) -> staff.Viewer:
    async with runtime.db.session() as session:
        user = await staff.user_named(session, username=username)
    assert isinstance(user, User)
    return staff.viewer_of(user)


def new_message(external_id: str, text: str, department: str) -> Inbound:
    # Each from its own number: a second SMS from one number would join its open ticket.
    phone = f"+9733300{sum(map(ord, external_id)) % 10000:04d}"
    return Inbound(
        channel="sms",
        external_id=external_id,
        received_at=datetime(2026, 11, 9, 8, 0, tzinfo=UTC),
        sender=Sender(handle=phone, phone=phone),
        text=text,
        department=department,
    )


async def test_events_are_scoped_to_what_the_viewer_may_see(seeded: Runtime) -> None:
    async with seeded.db.session() as session:
        start = await live.latest_event_id(session)
    await seeded.intake.save(new_message("live-1", "حفرة عميقة في طريق 12", "roads"))
    await seeded.intake.save(new_message("live-2", "طفح مجاري في مجمع 310", "sewage"))
    async with seeded.db.session() as session:
        roads = await live.events_after(
            session, viewer=await viewer(seeded, "agent_roads"), after=start
        )
        admin = await live.events_after(session, viewer=await viewer(seeded, "admin"), after=start)
        rep = await live.events_after(session, viewer=await viewer(seeded, "rep305"), after=start)
    assert {e["reference"] for e in roads} == {"QN-2026-000007"}
    assert {e["reference"] for e in admin} == {"QN-2026-000007", "QN-2026-000008"}
    assert rep == []
    assert "created" in [e["type"] for e in roads]
    assert all(e["id"] > start for e in admin)


async def test_the_stream_sends_what_arrives_until_the_client_leaves(seeded: Runtime) -> None:
    agent = await viewer(seeded, "agent_sewage")
    async with seeded.db.session() as session:
        start = await live.latest_event_id(session)
    polls = 0

    async def gone() -> bool:
        nonlocal polls
        polls += 1
        if polls == 2:  # a new ticket arrives while the page is open
            await seeded.intake.save(new_message("live-3", "طفح مجاري في مجمع 312", "sewage"))
        return polls > 3

    chunks = [
        chunk async for chunk in live.stream(seeded, agent, after=start, gone=gone, poll=0.01)
    ]
    assert chunks[0] == "retry: 3000\n\n"
    created = [c for c in chunks if c.startswith("id:") and "event: ticket_created" in c]
    assert len(created) == 1
    data = json.loads(created[0].split("data: ", 1)[1])
    assert data["reference"] == "QN-2026-000007" and data["status"] == "new"


async def test_the_stream_needs_a_login(anonymous: httpx.AsyncClient) -> None:
    response = await anonymous.get("/events/stream")
    assert response.status_code == 401


async def test_the_stream_answers_as_event_stream(
    app: FastAPI, seeded: Runtime, login: Login
) -> None:
    agent = await login("agent_sewage")
    app.state.sse_poll_seconds = 0.01
    app.state.sse_stream_seconds = 0.05  # the connection ends; browsers reconnect
    response = await agent.get("/events/stream", headers={"Last-Event-ID": "0"})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/event-stream")
    lines = response.text.splitlines()
    assert lines[0] == "retry: 3000"
    created = [line for line in lines if line.startswith("data:") and '"created"' in line]
    assert len(created) == 4  # the sewage department's four seeded tickets
    assert "QN-2026-000003" not in response.text  # roads


async def test_open_pages_share_one_feed_and_ask_the_store_only_after_a_change(
    seeded: Runtime,
) -> None:
    from qanat.web.feed import ChangeFeed

    agent = await viewer(seeded, "agent_sewage")
    async with seeded.db.session() as session:
        start = await live.latest_event_id(session)
    feed = ChangeFeed(seeded.db, every=0.01)
    looks = 0
    real_events_after = live.events_after

    async def counted(*args: object, **kwargs: object) -> list[dict[str, object]]:
        nonlocal looks
        looks += 1
        return await real_events_after(*args, **kwargs)  # type: ignore[arg-type]

    live.events_after = counted  # type: ignore[assignment]
    turns = 0

    async def gone() -> bool:
        nonlocal turns
        turns += 1
        if turns == 20:  # one new ticket while three pages are open
            await seeded.intake.save(new_message("live-9", "طفح مجاري في مجمع 312", "sewage"))
        return turns > 60

    async def page() -> list[str]:
        return [
            c
            async for c in live.stream(seeded, agent, after=start, gone=gone, poll=0.01, feed=feed)
        ]

    try:
        pages = await asyncio.gather(page(), page(), page())
    finally:
        live.events_after = real_events_after  # type: ignore[assignment]
    for chunks in pages:
        assert sum("event: ticket_created" in c for c in chunks) <= 1
    assert any("event: ticket_created" in c for chunks in pages for c in chunks)
    assert looks <= 3 * 3  # each page: its first look, and one or two after the change


async def test_one_person_may_hold_only_a_few_streams(seeded: Runtime) -> None:
    from qanat.errors import TooManyRequests
    from qanat.web.feed import STREAMS_PER_USER, ChangeFeed

    agent = await viewer(seeded, "agent_sewage")
    feed = ChangeFeed(seeded.db, every=0.01)
    async with contextlib.AsyncExitStack() as streams:
        for _ in range(STREAMS_PER_USER):
            await streams.enter_async_context(feed.subscribed(agent.user_id))
        with pytest.raises(TooManyRequests):
            feed.admit(agent.user_id)
    feed.admit(agent.user_id)  # closed streams free their places
