"""The X connector through tweepy's own request code, against a local fake X API v2."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from qanat.errors import BadPayload
from qanat.ingest.base import ConnectorContext
from qanat.ingest.polling import PollReport
from qanat.ingest.x.connector import XAccount, XConnector
from qanat.model import Reply, Sender
from qanat.testing import MemoryCursors, MemoryHealth, MemoryIntake
from tests.support.fake_x import OUR_ID, FakeXApi, client_for
from tests.support.loopback import serve

FIXTURES = Path(__file__).parents[2] / "fixtures" / "x"
KEY = ("x", "moworks")


@pytest.fixture(scope="module")
def fake_api() -> Iterator[tuple[FakeXApi, str]]:
    fake = FakeXApi()
    with serve(fake.app()) as url:
        yield fake, url


@pytest.fixture
def fake(fake_api: tuple[FakeXApi, str]) -> FakeXApi:
    fake_api[0].reset()
    return fake_api[0]


class Clock:
    """A clock tests move by hand."""

    def __init__(self) -> None:
        self.now = datetime(2026, 11, 2, 5, 16, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


class Account:
    """A connector on the fake with in-memory intake, cursors and health."""

    def __init__(self, connector: XConnector, clock: Clock) -> None:
        self.connector, self.clock = connector, clock
        self.intake = MemoryIntake()
        self.cursors = MemoryCursors()
        self.health = MemoryHealth()
        connector.context.intake = self.intake
        connector.context.cursors = self.cursors
        connector.context.health = self.health

    async def poll(self) -> PollReport:
        return await self.connector.poll_once()

    def ids(self) -> list[str]:
        return [key[2] for key in self.intake.messages]


def config(**changes: Any) -> XAccount:
    keys = {
        "consumer_key": "ck",
        "consumer_secret": "cs",
        "access_token": "at",
        "access_token_secret": "ats",
    }
    return XAccount.model_validate({"account": "moworks", "user_id": OUR_ID, **keys} | changes)


@pytest.fixture
async def x(fake_api: tuple[FakeXApi, str], fake: FakeXApi) -> AsyncIterator[Account]:
    clock = Clock()
    async with client_for(fake_api[1]) as http:
        context = ConnectorContext(
            channel="x",
            account="moworks",
            config=config(),
            intake=MemoryIntake(),
            cursors=MemoryCursors(),
            health=MemoryHealth(),
            http=http,
            clock=clock,
        )
        yield Account(XConnector(context), clock)


def watermark(
    x: Account, mentions: str = "1985123456789012000", dms: str = "1985200000000000000"
) -> None:
    x.cursors.values[KEY] = {"mentions_since_id": mentions, "dm_since_id": dms}


def rate_limited() -> dict[str, Any]:
    answer: dict[str, Any] = json.loads((FIXTURES / "rate_limited.json").read_text())
    return answer


async def test_mentions_are_read_over_pages_and_saved_oldest_first(
    x: Account, fake: FakeXApi
) -> None:
    fake.load("mentions_page1.json")
    fake.load("mentions_page2.json")
    watermark(x)
    x.connector.config = x.connector.config.model_copy(update={"direct_messages": False})
    # Two per page, as the recorded pages came.
    fake.queue(
        "/2/users",
        {"status": 200, "body": json.loads((FIXTURES / "mentions_page1.json").read_text())},
    )
    report = await x.poll()
    assert report.saved == 3 and report.error is None
    assert x.ids() == ["1985123456789012345", "1985123456789012601", "1985123456789012803"]
    assert x.cursors.values[KEY]["mentions_since_id"] == "1985123456789012803"
    first, second = fake.to("/2/users/")
    assert (
        first.query["since_id"] == "1985123456789012000" and "pagination_token" not in first.query
    )
    assert second.query["pagination_token"] == "7140dibdnow9c7btw4b0vsbfghvgzmq6hq5zgsl0gb2bg"
    assert first.query["expansions"] == "author_id,geo.place_id,referenced_tweets.id"
    assert "conversation_id" in first.query["tweet.fields"].split(",")
    assert first.headers["authorization"].startswith("OAuth ")  # tweepy signed it
    assert 'oauth_consumer_key="ck"' in first.headers["authorization"]


async def test_polling_twice_stores_nothing_twice(x: Account, fake: FakeXApi) -> None:
    for name in ("mentions_page1.json", "mentions_page2.json", "dm_events.json"):
        fake.load(name)
    watermark(x)
    first, second = await x.poll(), await x.poll()
    assert (first.saved, second.saved, second.already_known) == (6, 0, 0)
    assert fake.to("/2/users/")[-1].query["since_id"] == "1985123456789012803"


async def test_a_bearer_token_reads_mentions_without_user_context(
    fake_api: tuple[FakeXApi, str], fake: FakeXApi
) -> None:
    fake.load("mentions_page2.json")
    async with client_for(fake_api[1]) as http:
        context = ConnectorContext(
            channel="x",
            account="moworks",
            config=XAccount(
                account="moworks", user_id=OUR_ID, bearer_token="AAAA-app", direct_messages=False
            ),
            intake=MemoryIntake(),
            cursors=MemoryCursors(),
            health=MemoryHealth(),
            http=http,
            clock=Clock(),
        )
        ids = await XConnector(context).list_since(datetime(2026, 11, 2, tzinfo=UTC))
    assert ids == ["1985123456789012345"]
    assert fake.requests[0].headers["authorization"] == "Bearer AAAA-app"


def test_accounts_must_have_credentials_that_fit() -> None:
    with pytest.raises(ValidationError, match="all four keys"):
        config(access_token_secret=None)
    with pytest.raises(ValidationError, match="reading DMs needs"):
        XAccount(account="a", user_id=OUR_ID, bearer_token="b")
    with pytest.raises(ValidationError, match="user_id"):
        config(user_id="@MoWorksBH")


async def test_the_first_poll_reads_only_the_latest_page(x: Account, fake: FakeXApi) -> None:
    fake.load("mentions_page1.json")
    fake.load("mentions_page2.json")
    x.connector.config = x.connector.config.model_copy(update={"direct_messages": False})
    fake.queue(
        "/2/users",
        {"status": 200, "body": json.loads((FIXTURES / "mentions_page1.json").read_text())},
    )
    report = await x.poll()
    assert report.saved == 2 and len(fake.to("/2/users/")) == 1
    assert x.cursors.values[KEY]["mentions_since_id"] == "1985123456789012803"


async def test_a_429_pauses_polling_until_the_reset_time(x: Account, fake: FakeXApi) -> None:
    fake.load("mentions_page2.json")
    watermark(x)
    fake.queue("/2/users", rate_limited())  # reset at 05:30
    report = await x.poll()
    assert report.error == "X rate limit reached; polling paused until 2026-11-02T05:30:00+00:00"
    assert x.health.reports[-1][0] == "failure" and x.intake.messages == {}
    assert x.cursors.values[KEY] == {
        "mentions_since_id": "1985123456789012000",
        "dm_since_id": "1985200000000000000",
        "paused_until": "2026-11-02T05:30:00+00:00",
    }
    asked = len(fake.requests)
    x.clock.now = datetime(2026, 11, 2, 5, 29, 59, tzinfo=UTC)
    assert (await x.poll()).error is not None
    assert len(fake.requests) == asked  # nothing sent to X during the pause
    x.clock.now = datetime(2026, 11, 2, 5, 30, tzinfo=UTC)
    resumed = await x.poll()
    assert resumed.error is None and resumed.saved == 1
    assert "paused_until" not in x.cursors.values[KEY]


async def test_a_429_on_dms_keeps_the_mentions_already_saved(x: Account, fake: FakeXApi) -> None:
    fake.load("mentions_page2.json")
    fake.load("dm_events.json")
    watermark(x)
    fake.queue("/2/dm_events", rate_limited())
    report = await x.poll()
    assert report.saved == 1 and report.error is not None
    state = x.cursors.values[KEY]
    assert state["mentions_since_id"] == "1985123456789012345"
    assert state["dm_since_id"] == "1985200000000000000"  # no DM was saved
    assert state["paused_until"] == "2026-11-02T05:30:00+00:00"


async def test_a_server_error_keeps_the_watermark(x: Account, fake: FakeXApi) -> None:
    fake.load("mentions_page2.json")
    watermark(x)
    fake.queue("/2/users", {"status": 503, "body": {"title": "Service Unavailable", "status": 503}})
    report = await x.poll()
    assert report.error is not None and "503" in report.error
    assert x.cursors.values[KEY]["mentions_since_id"] == "1985123456789012000"


async def test_partial_errors_do_not_stop_the_post(x: Account, fake: FakeXApi) -> None:
    fake.load("mentions_errors_partial.json")
    watermark(x)
    assert (await x.poll()).saved == 1
    [(inbound, state, _reason)] = x.intake.messages.values()
    assert inbound.external_id == "1985123456789013203" and state == "received"


async def test_a_post_that_cannot_be_read_is_dead_lettered_alone(
    x: Account, fake: FakeXApi
) -> None:
    fake.load("mentions_item_without_author.json")
    watermark(x)
    report = await x.poll()
    assert (report.saved, report.dead_lettered) == (1, 1)
    states = {key[2]: (state, reason) for key, (_i, state, reason) in x.intake.messages.items()}
    assert states["1985123456789013307"] == ("received", None)
    dead_state, reason = states["1985123456789013305"]
    assert dead_state == "dead_letter" and reason is not None and "author_id" in reason


async def test_new_dms_are_saved_threaded_and_ours_skipped(x: Account, fake: FakeXApi) -> None:
    fake.load("dm_events.json")
    watermark(x, dms="1985200000000000801")  # Hasan's DM was saved last time
    x.connector.config = x.connector.config.model_copy(update={"mentions": False})
    report = await x.poll()
    assert (report.saved, report.skipped) == (2, 1)  # our own DM is skipped
    saved = {key[2]: inbound for key, (inbound, _s, _r) in x.intake.messages.items()}
    assert list(saved) == ["dm:1985200000000000903", "dm:1985200000000000907"]
    assert saved["dm:1985200000000000907"].in_reply_to == ["dm:1985200000000000905"]
    assert x.cursors.values[KEY]["dm_since_id"] == "1985200000000000907"
    [listing] = fake.to("/2/dm_events")
    assert listing.query["event_types"] == "MessageCreate"
    assert "dm_conversation_id" in listing.query["dm_event.fields"].split(",")


async def test_a_dm_whose_conversation_is_off_the_page_is_looked_up(
    x: Account, fake: FakeXApi
) -> None:
    fake.load("dm_events.json")
    watermark(x, dms="1985200000000000905")
    x.connector.config = x.connector.config.model_copy(update={"mentions": False})
    fake.queue(  # the listing shows only the newest event
        "/2/dm_events",
        {
            "status": 200,
            "body": {"data": [fake.dm_events["1985200000000000907"]], "meta": {"result_count": 1}},
        },
    )
    await x.poll()
    [(inbound, _s, _r)] = x.intake.messages.values()
    assert inbound.in_reply_to == ["dm:1985200000000000905"]
    assert [r.path for r in fake.to("/2/dm_conversations/")] == [
        "/2/dm_conversations/1306456789012345678-1523456789012345678/dm_events"
    ]


def a_reply(text: str, **extra: Any) -> Reply:
    return Reply(
        ticket_reference="QN-2026-000001",
        channel="x",
        account="moworks",
        to=Sender(handle="1499876543210987654", name="بو أحمد", phone="+97333123456"),
        text=text,
        **extra,
    )


async def test_a_public_reply_goes_under_the_citizens_post(x: Account, fake: FakeXApi) -> None:
    text = "نعتذر عن الإزعاج، تم تحويل بلاغكم QN-2026-000001 إلى قسم الصرف الصحي 🙏"
    sent = await x.connector.send(a_reply(text, in_reply_to=["1985123456789012345"]))
    [post] = fake.to("/2/tweets")
    assert post.method == "POST"
    assert post.body == {"text": text, "reply": {"in_reply_to_tweet_id": "1985123456789012345"}}
    assert post.headers["authorization"].startswith("OAuth ")
    assert sent.external_id == "1985123456789012999"
    assert sent.metadata["visibility"] == "public"


async def test_a_public_reply_with_private_data_is_refused_before_x(
    x: Account, fake: FakeXApi
) -> None:
    with pytest.raises(BadPayload, match="phone number"):
        await x.connector.send(
            a_reply("سنتصل بكم على ٣٣١٢٣٤٥٦", in_reply_to=["1985123456789012345"])
        )
    with pytest.raises(BadPayload, match="over X's 280"):
        await x.connector.send(a_reply("ب" * 281, in_reply_to=["1985123456789012345"]))
    with pytest.raises(BadPayload, match="send a DM"):
        await x.connector.send(a_reply("تم", metadata={"visibility": "public"}))
    assert fake.requests == []


async def test_a_private_reply_is_a_dm(x: Account, fake: FakeXApi) -> None:
    text = "أهلاً بو أحمد، نرجو تزويدنا برقم هاتفك للتواصل: " + "تفاصيل " * 100  # long is fine
    sent = await x.connector.send(
        a_reply(text, in_reply_to=["1985123456789012345"], metadata={"visibility": "private"})
    )
    [dm] = fake.to("/2/dm_conversations/with/1499876543210987654/messages")
    assert dm.body == {"text": text}
    assert sent.external_id == "dm:1985123456789012999"
    assert sent.metadata["dm_conversation_id"] == "1306456789012345678-1499876543210987654"


async def test_a_dm_is_answered_by_dm_unless_staff_choose(x: Account, fake: FakeXApi) -> None:
    await x.connector.send(a_reply("تم", in_reply_to=["dm:1985200000000000907"]))
    assert [p["kind"] for p in fake.posted] == ["dm"]


async def test_list_since_and_fetch_find_what_the_source_holds(x: Account, fake: FakeXApi) -> None:
    for name in ("mentions_page1.json", "mentions_page2.json", "dm_events.json"):
        fake.load(name)
    since = datetime(2026, 11, 2, 5, 4, tzinfo=UTC)
    ids = await x.connector.list_since(since)
    assert ids == [
        "1985123456789012601",
        "1985123456789012803",
        "dm:1985200000000000903",
        "dm:1985200000000000907",
    ]
    assert fake.to("/2/users/")[0].query["start_time"] == "2026-11-02T05:04:00Z"
    found = [i async for i in x.connector.fetch(["1985123456789012601", "dm:1985200000000000907"])]
    assert [i.external_id for i in found] == ["1985123456789012601", "dm:1985200000000000907"]
    assert found[1].in_reply_to == ["dm:1985200000000000905"]
    x.clock.now += timedelta(days=40)  # DMs older than 30 days are gone from X
    assert [i async for i in x.connector.fetch(["dm:1985200000000000907"])] == []
