"""Telegram through the real app and store: updates become tickets, replies reach the bot API.

Each case runs on SQLite and PostgreSQL, with jobs inline, against a fake Bot API on
127.0.0.1 that python-telegram-bot reaches through ``base_url`` / ``base_file_url``.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from qanat.errors import ChannelUnavailable
from qanat.ingest.telegram.connector import SECRET_HEADER, SPEC, TelegramAccount, TelegramConnector
from qanat.model import Inbound, Sender
from qanat.runtime import Runtime
from qanat.store.tables import Attachment, ContactIdentity, Event, Message, Ticket
from qanat.web.app import create_app
from qanat.worker import poll_connectors
from tests.support.fake_telegram import FakeBotApi
from tests.support.loopback import serve
from tests.support.outbound import reply_from_inbox
from tests.support.rows import message, row, rows

FIXTURES = Path(__file__).parents[2] / "fixtures" / "telegram"
SECRET = "e2e-webhook-secret"
ACCOUNT = "ministry_bot"
WEBHOOK = f"/webhooks/telegram/{ACCOUNT}"


@pytest.fixture(scope="module")
def fake_api() -> Iterator[tuple[FakeBotApi, str]]:
    fake = FakeBotApi()
    with serve(fake.app()) as url:
        yield fake, url


@pytest.fixture
def fake(fake_api: tuple[FakeBotApi, str]) -> FakeBotApi:
    fake_api[0].reset()
    return fake_api[0]


@pytest.fixture
def account(fake_api: tuple[FakeBotApi, str], runtime: Runtime) -> TelegramAccount:
    """The bot configured in the runtime, as the connectors file would configure it."""
    fake, url = fake_api
    entry = {
        "account": ACCOUNT,
        "token": fake.token,
        "mode": "webhook",
        "secret_token": SECRET,
        "base_url": f"{url}/bot",
        "base_file_url": f"{url}/file/bot",
    }
    runtime.connectors.specs["telegram"] = SPEC  # installed packages are read at start-up
    runtime.accounts["telegram"] = [entry]
    return TelegramAccount.model_validate(entry)


@pytest.fixture
async def app(runtime: Runtime, account: TelegramAccount) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=create_app(runtime=runtime))
    async with httpx.AsyncClient(transport=transport, base_url="http://qanat.test") as client:
        yield client


async def post(app: httpx.AsyncClient, body: bytes, **headers: str) -> httpx.Response:
    sent = {"content-type": "application/json", SECRET_HEADER: SECRET} | headers
    return await app.post(WEBHOOK, content=body, headers=sent)


async def deliver(app: httpx.AsyncClient, name: str) -> httpx.Response:
    response = await post(app, (FIXTURES / f"{name}.json").read_bytes())
    assert response.status_code == 200, response.text
    return response


async def test_an_arabic_text_becomes_a_ticket(runtime: Runtime, app: httpx.AsyncClient) -> None:
    await deliver(app, "text_arabic")
    [ticket] = await rows(runtime, Ticket)
    stored = await message(runtime, "5123456789:41")
    assert stored.state == "processed" and stored.ticket_id == ticket.id
    assert ticket.channel == "telegram" and ticket.language == "ar"
    assert stored.raw == (FIXTURES / "text_arabic.json").read_bytes()
    identities = await rows(
        runtime, ContactIdentity, ContactIdentity.contact_id == ticket.contact_id
    )
    assert [(i.kind, i.value) for i in identities] == [("telegram", "5123456789")]


async def test_a_photo_with_caption_keeps_the_photo(
    runtime: Runtime, app: httpx.AsyncClient, fake: FakeBotApi
) -> None:
    fake.files["AgACAgQAAxkBAAIBKmdPhoto1280"] = b"\xff\xd8\xff\xe0" + b"jpeg" * 100
    await deliver(app, "photo_with_caption")
    [ticket] = await rows(runtime, Ticket)
    [photo] = await rows(runtime, Attachment)
    assert photo.name == "photo_AQADPhoto1280.jpg" and photo.size == 404
    assert photo.stored_at is not None
    saved = runtime.settings.attachments_dir / photo.stored_at
    assert saved.read_bytes() == fake.files["AgACAgQAAxkBAAIBKmdPhoto1280"]
    assert (await message(runtime, "5123456789:42")).ticket_id == ticket.id


async def test_a_shared_location_puts_coordinates_on_the_ticket(
    runtime: Runtime, app: httpx.AsyncClient
) -> None:
    await deliver(app, "location")
    [ticket] = await rows(runtime, Ticket)
    assert (ticket.lat, ticket.lon) == (26.223512, 50.587634)


async def test_a_shared_contact_links_the_citizens_phone_to_their_telegram(
    runtime: Runtime, app: httpx.AsyncClient
) -> None:
    await deliver(app, "location")  # message 44: the contact (45) continues it
    await deliver(app, "contact_shared")
    [ticket] = await rows(runtime, Ticket)
    assert (await message(runtime, "5123456789:45")).ticket_id == ticket.id
    identities = await rows(
        runtime, ContactIdentity, ContactIdentity.contact_id == ticket.contact_id
    )
    assert {(i.kind, i.value) for i in identities} == {
        ("telegram", "5123456789"),
        ("phone", "+97333123456"),
    }
    # An SMS from that number now reaches the same citizen.
    await runtime.intake.save(
        Inbound(
            channel="sms",
            external_id="SM-e2e-1",
            received_at=datetime(2026, 11, 2, 7, 0, tzinfo=UTC),
            sender=Sender(handle="+97333123456", phone="+97333123456"),
            text="بخصوص تسرب المياه، ما أحد تواصل معي",
        )
    )
    assert (await message(runtime, "SM-e2e-1")).contact_id == ticket.contact_id


async def test_a_reply_from_qanat_reaches_the_chat_and_the_citizens_answer_joins_the_ticket(
    runtime: Runtime, app: httpx.AsyncClient, fake: FakeBotApi, account: TelegramAccount
) -> None:
    await deliver(app, "text_arabic")
    [ticket] = await rows(runtime, Ticket)
    text = "شكرًا لتواصلكم علي. استلمنا بلاغكم برقم {reference} 🙏"
    fake.next_message_id = 47  # the id Telegram gives our message in this chat
    result = await reply_from_inbox(runtime, ticket.reference, text)
    assert result.state == "sent", result.detail
    [call] = fake.calls_to("sendMessage")
    assert call["chat_id"] == "5123456789"
    assert call["text"] == f"شكرًا لتواصلكم علي. استلمنا بلاغكم برقم {ticket.reference} 🙏"
    assert call["reply_parameters"]["message_id"] == 41
    assert (await row(runtime, Message, result.message_id)).external_id == "5123456789:47"

    await deliver(app, "reply_to_our_message")
    answer = await message(runtime, "5123456789:48")
    assert answer.ticket_id == ticket.id
    assert len(await rows(runtime, Ticket)) == 1


async def test_an_edited_message_updates_the_text_and_shows_on_the_ticket(
    runtime: Runtime, app: httpx.AsyncClient
) -> None:
    await deliver(app, "text_arabic")
    before = (await message(runtime, "5123456789:41")).text
    await deliver(app, "edited_message")
    await deliver(app, "edited_message")  # Telegram retried: no second event
    [ticket] = await rows(runtime, Ticket)
    edited = await message(runtime, "5123456789:41")
    assert "طريق ٤٧ (مو ٤٥)" in edited.text
    assert edited.channel_metadata["edits"] == [
        {"at": "2026-11-02T05:20:00+00:00", "old_text": before}
    ]
    [event] = await rows(runtime, Event, Event.type == "message_edited")
    assert event.ticket_id == ticket.id and event.message_id == edited.id
    assert (event.data["old_text"], event.data["new_text"]) == (before, edited.text)
    assert json.loads(event.data["raw"])["edited_message"]["edit_date"] == 1793596800


async def test_an_edit_of_a_message_never_seen_is_saved_as_new(
    runtime: Runtime, app: httpx.AsyncClient
) -> None:
    await deliver(app, "edited_message")
    [ticket] = await rows(runtime, Ticket)
    assert (await message(runtime, "5123456789:41")).ticket_id == ticket.id
    assert await rows(runtime, Event, Event.type == "message_edited") == []


async def test_forged_deliveries_are_403_and_store_nothing(
    runtime: Runtime, app: httpx.AsyncClient
) -> None:
    body = (FIXTURES / "text_arabic.json").read_bytes()
    assert (await post(app, body, **{SECRET_HEADER: "guess"})).status_code == 403
    missing = await app.post(WEBHOOK, content=body, headers={"content-type": "application/json"})
    assert missing.status_code == 403
    assert await rows(runtime, Message) == []


async def test_bad_bodies_are_refused_with_reasons(
    runtime: Runtime, app: httpx.AsyncClient
) -> None:
    body = (FIXTURES / "text_arabic.json").read_bytes()
    assert (await post(app, body, **{"content-type": "text/plain"})).status_code == 415
    truncated = await post(app, (FIXTURES / "truncated.json.txt").read_bytes())
    assert truncated.status_code == 400 and "not valid JSON" in truncated.json()["detail"]
    unknown = await app.post(
        "/webhooks/telegram/someone_else", content=body, headers={SECRET_HEADER: SECRET}
    )
    assert unknown.status_code == 404
    assert await rows(runtime, Message) == []


async def test_unknown_updates_are_200_and_malformed_ones_dead_lettered(
    runtime: Runtime, app: httpx.AsyncClient
) -> None:
    await deliver(app, "unknown_update_type")
    assert await rows(runtime, Message) == []
    await deliver(app, "malformed_old_format")
    [dead] = await rows(runtime, Message)
    assert dead.state == "dead_letter" and "is_bot" in (dead.state_reason or "")
    assert dead.raw == (FIXTURES / "malformed_old_format.json").read_bytes()
    assert await rows(runtime, Ticket) == []


async def test_a_retried_delivery_is_stored_once(runtime: Runtime, app: httpx.AsyncClient) -> None:
    for _ in range(3):
        await deliver(app, "text_arabic")
    assert len(await rows(runtime, Message)) == 1 and len(await rows(runtime, Ticket)) == 1


async def test_the_store_being_down_is_503_so_telegram_retries(
    runtime: Runtime, app: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def down(_inbound: Inbound) -> Any:
        raise ChannelUnavailable("the store cannot save messages now (test)")

    monkeypatch.setattr(runtime.intake, "save", down)
    response = await post(app, (FIXTURES / "text_arabic.json").read_bytes())
    assert response.status_code == 503


def bot(runtime: Runtime, account: TelegramAccount) -> TelegramConnector:
    """The account's connector, whatever its mode (a poll asked for by hand)."""
    return TelegramConnector(runtime.connectors.context("telegram", ACCOUNT, account))


async def test_polling_twice_stores_nothing_twice(
    runtime: Runtime, fake: FakeBotApi, account: TelegramAccount
) -> None:
    batch = [
        json.loads((FIXTURES / f"{name}.json").read_text())
        for name in ("text_arabic", "text_mixed_arabic_english", "location")
    ]
    fake.updates += batch
    first = await bot(runtime, account).poll()
    assert await runtime.cursors.get("telegram", ACCOUNT) == {"offset": 830114007}
    # As if the offset had been lost after the commit: Telegram, never told, sends the
    # same updates again.
    await runtime.cursors.put("telegram", ACCOUNT, {})
    second = await bot(runtime, account).poll()
    assert (first.saved, second.saved, second.already_known) == (3, 0, 3)
    assert len(await rows(runtime, Message)) == 3 and len(await rows(runtime, Ticket)) == 3


async def test_the_workers_cron_polls_polling_bots_only(
    runtime: Runtime, fake: FakeBotApi, account: TelegramAccount
) -> None:
    fake.updates.append(json.loads((FIXTURES / "text_arabic.json").read_text()))
    assert await poll_connectors(runtime.as_job_context()) == 0  # a webhook bot: not polled
    assert fake.calls_to("getUpdates") == []
    runtime.accounts["telegram"][0]["mode"] = "polling"
    await runtime.connectors.close()  # rebuilt from the changed settings
    runtime.connectors.http = httpx.AsyncClient()
    assert await poll_connectors(runtime.as_job_context()) == 1
    assert len(await rows(runtime, Ticket)) == 1
