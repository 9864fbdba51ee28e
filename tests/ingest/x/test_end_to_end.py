"""X through the real store: mentions and DMs become tickets, replies go out through tweepy,
answers thread back, a 429 pauses the account. On SQLite and PostgreSQL, jobs inline."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from qanat.ingest.x.connector import SPEC, XAccount, XConnector
from qanat.runtime import Runtime
from qanat.store.tables import ChannelHealth, ContactIdentity, Message, Ticket
from tests.support.fake_x import OUR_ID, FakeXApi, client_for
from tests.support.loopback import serve
from tests.support.outbound import reply_from_inbox
from tests.support.rows import message, row, rows

FIXTURES = Path(__file__).parents[2] / "fixtures" / "x"
ACCOUNT = "moworks"


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
    """The runtime's clock, moved by hand."""

    now = datetime(2026, 11, 2, 5, 16, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
async def account(runtime: Runtime, fake_api: tuple[FakeXApi, str]) -> XAccount:
    """The X account configured in the runtime, its HTTP going to the fake."""
    entry = {
        "account": ACCOUNT,
        "user_id": OUR_ID,
        "consumer_key": "ck",
        "consumer_secret": "cs",
        "access_token": "at",
        "access_token_secret": "ats",
    }
    runtime.connectors.specs["x"] = SPEC
    runtime.accounts["x"] = [entry]
    await runtime.connectors.http.aclose()
    runtime.connectors.http = client_for(fake_api[1])  # closed by stop_runtime
    runtime.connectors.clock = Clock()
    # Start after the fixtures' older history, as an account that has polled before.
    watermark = {"mentions_since_id": "1985123456789012000", "dm_since_id": "1985200000000000000"}
    await runtime.cursors.put("x", ACCOUNT, watermark)
    return XAccount.model_validate(entry)


def connector(runtime: Runtime) -> XConnector:
    built = runtime.connectors.get("x", ACCOUNT)
    assert isinstance(built, XConnector)
    return built


async def test_mentions_and_dms_become_tickets(
    runtime: Runtime, fake: FakeXApi, account: XAccount
) -> None:
    for name in ("mentions_page1.json", "mentions_page2.json", "dm_events.json"):
        fake.load(name)
    report = await connector(runtime).poll_once()
    assert report.error is None and report.saved == 6
    mention = await message(runtime, "1985123456789012803")
    dm = await message(runtime, "dm:1985200000000000903")
    assert mention.state == dm.state == "processed"
    tickets = {t.id: t for t in await rows(runtime, Ticket)}
    assert (tickets[mention.ticket_id].lat, tickets[mention.ticket_id].lon) == (26.1296, 50.5577)
    assert tickets[dm.ticket_id].channel == "x"
    # Fatima wrote publicly and by DM: one citizen, known by her X id.
    assert mention.contact_id == dm.contact_id
    identities = await rows(runtime, ContactIdentity, ContactIdentity.contact_id == dm.contact_id)
    assert [(i.kind, i.value) for i in identities] == [("x", "1523456789012345678")]
    # Her second DM came after our answer in that conversation, which qanat did not send
    # (no outbound row): it names our DM and, finding nothing, opens its own ticket.
    second = await message(runtime, "dm:1985200000000000907")
    assert second.in_reply_to == ["dm:1985200000000000905"]
    assert second.ticket_id is not None and second.ticket_id != dm.ticket_id


async def test_polling_twice_stores_nothing_twice(
    runtime: Runtime, fake: FakeXApi, account: XAccount
) -> None:
    for name in ("mentions_page1.json", "mentions_page2.json", "dm_events.json"):
        fake.load(name)
    first = await connector(runtime).poll_once()
    second = await connector(runtime).poll_once()
    assert (first.saved, second.saved) == (6, 0)
    assert len(await rows(runtime, Message)) == 6
    [health] = await rows(runtime, ChannelHealth)
    assert health.last_success_at is not None and health.error_count == 0


async def test_a_public_reply_goes_out_and_the_citizens_answer_joins_the_ticket(
    runtime: Runtime, fake: FakeXApi, account: XAccount
) -> None:
    fake.load("mentions_page2.json")
    await connector(runtime).poll_once()
    [ticket] = await rows(runtime, Ticket)
    text = "نعتذر عن الإزعاج، تم تحويل بلاغكم {reference} إلى قسم الصرف الصحي"
    result = await reply_from_inbox(runtime, ticket.reference, text, "public")
    assert result.state == "sent", result.detail
    [post] = fake.to("/2/tweets")
    assert post.body["reply"] == {"in_reply_to_tweet_id": "1985123456789012345"}
    sent = await row(runtime, Message, result.message_id)
    assert sent.external_id == "1985123456789012999"

    fake.load("mentions_reply_in_conversation.json")  # he answers our reply
    await connector(runtime).poll_once()
    assert (await message(runtime, "1985123456789013001")).ticket_id == ticket.id
    assert len(await rows(runtime, Ticket)) == 1


async def test_a_public_reply_never_shows_a_phone_the_citizen_gave_on_another_channel(
    runtime: Runtime, fake: FakeXApi, account: XAccount
) -> None:
    fake.load("mentions_page2.json")
    await connector(runtime).poll_once()
    [ticket] = await rows(runtime, Ticket)
    async with runtime.db.writing() as session:  # e.g. they called from this number
        session.add(
            ContactIdentity(contact_id=ticket.contact_id, kind="phone", value="+97333123456")
        )
    text = "سنتصل بكم على الرقم +97333123456 بخصوص {reference}"
    refused = await reply_from_inbox(runtime, ticket.reference, text, "public")
    assert refused.state == "failed" and "not posted publicly" in refused.detail
    assert fake.to("/2/tweets") == []
    private = await reply_from_inbox(runtime, ticket.reference, text, "private")
    assert private.state == "sent", private.detail
    assert fake.to("/2/tweets") == [] and [
        r.method for r in fake.to("/2/dm_conversations/with")
    ] == ["POST"]


async def test_a_dm_after_our_dm_joins_the_ticket(
    runtime: Runtime, fake: FakeXApi, account: XAccount
) -> None:
    fake.load("dm_events.json")
    await connector(runtime).poll_once()
    first = await message(runtime, "dm:1985200000000000903")
    ticket = await row(runtime, Ticket, first.ticket_id)
    fake.next_id = 1985200000000000950
    text = "أهلاً فاطمة، تم تحويل بلاغ الإنارة للقسم المختص وسيتم الإصلاح خلال يومين."
    result = await reply_from_inbox(runtime, ticket.reference, text)  # a DM gets a DM
    assert result.state == "sent", result.detail
    sent = await row(runtime, Message, result.message_id)
    assert sent.external_id == "dm:1985200000000000950"
    fake.dm_events["1985200000000000960"] = {
        **fake.dm_events["1985200000000000907"],
        "id": "1985200000000000960",
        "text": "مشكورين 🙏 بانتظار الإصلاح",
        "created_at": "2026-11-02T05:40:00.000Z",
    }
    await connector(runtime).poll_once()
    answer = await message(runtime, "dm:1985200000000000960")
    assert answer.in_reply_to == ["dm:1985200000000000950"]
    assert answer.ticket_id == first.ticket_id


async def test_a_429_pauses_the_account_until_the_reset_and_shows_in_health(
    runtime: Runtime, fake: FakeXApi, account: XAccount
) -> None:
    fake.load("mentions_page2.json")
    fake.queue("/2/users", json.loads((FIXTURES / "rate_limited.json").read_text()))
    clock = runtime.connectors.clock
    assert isinstance(clock, Clock)
    paused = await connector(runtime).poll_once()
    assert paused.error is not None and "paused until 2026-11-02T05:30:00" in paused.error
    clock.now = datetime(2026, 11, 2, 5, 25, tzinfo=UTC)
    asked = len(fake.requests)
    assert (await connector(runtime).poll_once()).saved == 0
    assert len(fake.requests) == asked
    [health] = await rows(runtime, ChannelHealth)
    assert health.error_count == 2 and "paused until" in (health.last_error or "")
    clock.now = datetime(2026, 11, 2, 5, 31, tzinfo=UTC)
    resumed = await connector(runtime).poll_once()
    assert resumed.error is None and resumed.saved == 1
    [health] = await rows(runtime, ChannelHealth)
    assert health.consecutive_errors == 0 and health.last_success_at is not None
