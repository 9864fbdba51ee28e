"""The Telegram connector against a local fake Bot API: webhook checks, polling, replies."""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from qanat.errors import BadPayload, ChannelUnavailable, ForgedRequest
from qanat.ingest.base import ConnectorContext, WebhookRequest
from qanat.ingest.telegram.connector import SECRET_HEADER, TelegramAccount, TelegramConnector
from qanat.model import Reply, Sender
from qanat.testing import MemoryCursors, MemoryHealth, MemoryIntake
from tests.support.fake_telegram import FakeBotApi
from tests.support.loopback import serve

FIXTURES = Path(__file__).parents[2] / "fixtures" / "telegram"
SECRET = "qanat-webhook-secret_2026"
NOW = datetime(2026, 11, 2, 6, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def fake_api() -> Iterator[tuple[FakeBotApi, str]]:
    fake = FakeBotApi()
    with serve(fake.app()) as url:
        yield fake, url


@pytest.fixture
def fake(fake_api: tuple[FakeBotApi, str]) -> FakeBotApi:
    fake_api[0].reset()
    return fake_api[0]


class Bot:
    """A connector wired to the fake, with in-memory intake, cursors and health."""

    def __init__(self, connector: TelegramConnector, waits: list[float]) -> None:
        self.connector = connector
        self.waits = waits
        context = connector.context
        assert isinstance(context.intake, MemoryIntake)
        assert isinstance(context.cursors, MemoryCursors)
        assert isinstance(context.health, MemoryHealth)
        self.intake, self.cursors, self.health = context.intake, context.cursors, context.health

    async def poll(self) -> Any:
        return await self.connector.poll()

    def stored(self) -> dict[str, tuple[str, str]]:
        return {
            key[2]: (inbound.text, state)
            for key, (inbound, state, _r) in self.intake.messages.items()
        }


@pytest.fixture
async def bot(fake_api: tuple[FakeBotApi, str], fake: FakeBotApi) -> AsyncIterator[Bot]:
    url = fake_api[1]
    config = TelegramAccount(
        account="ministry_bot",
        token=fake.token,
        mode="polling",
        secret_token=SECRET,
        base_url=f"{url}/bot",
        base_file_url=f"{url}/file/bot",
        max_file_bytes=200_000,
        backoff_s=2,
    )
    waits: list[float] = []

    async def sleep(seconds: float) -> None:
        waits.append(seconds)

    async with httpx.AsyncClient() as http:
        context = ConnectorContext(
            channel="telegram",
            account="ministry_bot",
            config=config,
            intake=MemoryIntake(),
            cursors=MemoryCursors(),
            health=MemoryHealth(),
            http=http,
            clock=lambda: NOW,
        )
        yield Bot(TelegramConnector(context, sleep=sleep), waits)


def delivery(
    body: bytes, *, secret: str | None = SECRET, content_type: str = "application/json"
) -> WebhookRequest:
    headers = {"content-type": content_type}
    if secret is not None:
        headers[SECRET_HEADER.lower()] = secret
    url = "https://qanat.example.bh/webhooks/telegram/ministry_bot"
    return WebhookRequest("POST", url, "", headers, {}, body)


def fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def updates(*names: str) -> list[dict[str, Any]]:
    return [json.loads(fixture(f"{name}.json")) for name in names]


# --- webhook ---------------------------------------------------------------------------


async def test_a_delivery_is_committed_then_answered_200(bot: Bot) -> None:
    answer = await bot.connector.receive(delivery(fixture("text_arabic.json")))
    assert answer.status == 200
    assert bot.stored() == {
        "5123456789:41": (json.loads(fixture("text_arabic.json"))["message"]["text"], "received")
    }
    assert bot.health.reports == [("success", "")]


@pytest.mark.parametrize("secret", [None, "", "wrong-secret", SECRET + "x", SECRET.upper()])
async def test_a_missing_or_wrong_secret_is_refused_and_stores_nothing(
    bot: Bot, secret: str | None
) -> None:
    with pytest.raises(ForgedRequest, match=SECRET_HEADER):
        await bot.connector.receive(delivery(fixture("text_arabic.json"), secret=secret))
    assert bot.intake.messages == {}


async def test_a_body_that_is_not_json_is_415(bot: Bot) -> None:
    body = fixture("text_arabic.json")
    answer = await bot.connector.receive(delivery(body, content_type="text/plain"))
    assert answer.status == 415 and b"application/json" in answer.body
    json_with_charset = delivery(body, content_type="application/json; charset=utf-8")
    assert (await bot.connector.receive(json_with_charset)).status == 200


async def test_truncated_json_is_refused_with_the_reason(bot: Bot) -> None:
    with pytest.raises(BadPayload, match="not valid JSON"):
        await bot.connector.receive(delivery(fixture("truncated.json.txt")))
    with pytest.raises(BadPayload, match="update_id"):
        await bot.connector.receive(delivery(b'{"message": {}}'))
    assert bot.intake.messages == {}


async def test_an_unknown_update_type_is_acknowledged_and_not_stored(
    bot: Bot, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="qanat.ingest.telegram.connector")
    answer = await bot.connector.receive(delivery(fixture("unknown_update_type.json")))
    assert answer.status == 200 and bot.intake.messages == {}
    assert "830114011 (my_chat_member) acknowledged" in caplog.text


async def test_an_old_format_update_is_dead_lettered_with_its_raw_bytes(bot: Bot) -> None:
    body = fixture("malformed_old_format.json")
    answer = await bot.connector.receive(delivery(body))
    assert answer.status == 200  # Telegram must stop retrying: it will never parse
    [(inbound, state, reason)] = bot.intake.messages.values()
    assert state == "dead_letter" and inbound.raw == body
    assert reason is not None and "is_bot" in reason


async def test_the_same_update_delivered_twice_is_stored_once(bot: Bot) -> None:
    for _ in range(2):
        assert (await bot.connector.receive(delivery(fixture("text_arabic.json")))).status == 200
    assert list(bot.stored()) == ["5123456789:41"]


async def test_nothing_is_acknowledged_while_the_store_is_down(bot: Bot) -> None:
    bot.intake.fail_after = 0
    with pytest.raises(ChannelUnavailable):
        await bot.connector.receive(delivery(fixture("text_arabic.json")))


async def test_an_edit_replaces_the_stored_text(bot: Bot) -> None:
    await bot.connector.receive(delivery(fixture("text_arabic.json")))
    await bot.connector.receive(delivery(fixture("edited_message.json")))
    [(text, state)] = bot.stored().values()
    assert "طريق ٤٧ (مو ٤٥)" in text and state == "received"


async def test_a_photo_is_downloaded_through_get_file(bot: Bot, fake: FakeBotApi) -> None:
    fake.files["AgACAgQAAxkBAAIBKmdPhoto1280"] = b"\xff\xd8\xff\xe0 a jpeg"
    await bot.connector.receive(delivery(fixture("photo_with_caption.json")))
    [(inbound, _state, _reason)] = bot.intake.messages.values()
    [photo] = inbound.attachments
    assert photo.content == b"\xff\xd8\xff\xe0 a jpeg" and photo.size == 11
    assert fake.calls_to("getFile") == [{"file_id": "AgACAgQAAxkBAAIBKmdPhoto1280"}]


async def test_a_file_over_the_limit_is_noted_not_fetched(bot: Bot, fake: FakeBotApi) -> None:
    data = json.loads(fixture("document.json"))
    data["message"]["document"]["file_size"] = 300_000  # the account allows 200 000
    await bot.connector.receive(delivery(json.dumps(data).encode()))
    [(inbound, _state, _reason)] = bot.intake.messages.values()
    [document] = inbound.attachments
    assert document.content is None and document.size == 300_000
    assert document.note is not None and "over the 200000-byte limit" in document.note
    assert fake.calls_to("getFile") == []


async def test_a_file_telegram_cannot_give_keeps_the_message(bot: Bot) -> None:
    await bot.connector.receive(delivery(fixture("voice.json")))  # the fake has no such file
    [(inbound, state, _reason)] = bot.intake.messages.values()
    [voice] = inbound.attachments
    assert state == "received" and voice.content is None
    assert voice.note is not None and "AwACAgQAAxkBAAIBLWdVoice01" in voice.note


# --- long polling ----------------------------------------------------------------------


async def test_a_poll_saves_each_update_and_confirms_them_by_offset(
    bot: Bot, fake: FakeBotApi
) -> None:
    batch = updates("text_arabic", "malformed_old_format", "location", "unknown_update_type")
    batch[1]["update_id"] = 830114002  # one bad update in the middle of a batch
    fake.updates += batch
    report = await bot.poll()
    assert (report.saved, report.dead_lettered, report.skipped, report.error) == (2, 1, 1, None)
    assert bot.cursors.values[("telegram", "ministry_bot")] == {"offset": 830114012}
    assert set(bot.stored()) == {"5123456789:41", "40012345:7", "5123456789:44"}
    again = await bot.poll()
    assert again.saved == again.already_known == 0
    assert int(fake.calls_to("getupdates")[-1]["offset"]) == 830114012
    assert fake.calls_to("getupdates")[0]["allowed_updates"] == ["message", "edited_message"]
    assert fake.updates == []  # the offset confirmed them: Telegram forgets them


async def test_a_poll_applies_edits(bot: Bot, fake: FakeBotApi) -> None:
    fake.updates += updates("text_arabic", "edited_message")
    report = await bot.poll()
    assert (report.saved, report.edited) == (1, 1)
    assert "طريق ٤٧" in bot.stored()["5123456789:41"][0]


async def test_a_failing_api_is_retried_with_backoff(bot: Bot, fake: FakeBotApi) -> None:
    fake.updates += updates("text_arabic")
    fake.failures += [500, 502]
    report = await bot.poll()
    assert report.error is None and report.saved == 1
    assert bot.waits == [2, 4]


async def test_when_the_api_keeps_failing_the_offset_stays(bot: Bot, fake: FakeBotApi) -> None:
    bot.cursors.values[("telegram", "ministry_bot")] = {"offset": 830114001}
    fake.updates += updates("text_arabic")
    fake.failures += [500, 500, 500]
    report = await bot.poll()
    assert report.error is not None and "failed 3 times" in report.error
    assert "Internal Server Error" in report.error
    assert bot.cursors.values[("telegram", "ministry_bot")] == {"offset": 830114001}
    assert bot.intake.messages == {} and bot.health.reports[-1][0] == "failure"
    assert (await bot.poll()).saved == 1  # the next poll gets it


async def test_the_store_failing_mid_batch_keeps_the_offset_at_the_last_commit(
    bot: Bot, fake: FakeBotApi
) -> None:
    fake.updates += updates("text_arabic", "location")
    bot.intake.fail_after = 1
    report = await bot.poll()
    assert report.saved == 1 and report.error
    assert bot.cursors.values[("telegram", "ministry_bot")] == {"offset": 830114002}


async def test_a_webhook_account_is_not_polled_by_the_cron(bot: Bot, fake: FakeBotApi) -> None:
    bot.connector.config = bot.connector.config.model_copy(update={"mode": "webhook"})
    assert await bot.connector.poll_once() is None
    assert fake.calls == []


# --- replies ---------------------------------------------------------------------------


def a_reply(text: str, **extra: Any) -> Reply:
    return Reply(
        ticket_reference="QN-2026-000001",
        channel="telegram",
        account="ministry_bot",
        to=Sender(handle="5123456789", name="علي حسن"),
        text=text,
        **extra,
    )


async def test_a_reply_answers_the_citizens_message_in_their_chat(
    bot: Bot, fake: FakeBotApi
) -> None:
    text = "شكرًا لتواصلكم علي. استلمنا بلاغكم برقم QN-2026-000001 🙏"
    sent = await bot.connector.send(a_reply(text, in_reply_to=["5123456789:41"]))
    [call] = fake.calls_to("sendMessage")
    assert call["chat_id"] == "5123456789" and call["text"] == text
    assert call["reply_parameters"] == {"message_id": 41, "allow_sending_without_reply": True}
    assert sent.external_id == "5123456789:1000"


async def test_a_reply_without_the_citizens_message_goes_to_their_private_chat(
    bot: Bot, fake: FakeBotApi
) -> None:
    await bot.connector.send(a_reply("تم"))
    [call] = fake.calls_to("sendMessage")
    assert call["chat_id"] == "5123456789" and "reply_parameters" not in call


async def test_a_long_reply_goes_in_parts_and_only_the_first_quotes_the_citizen(
    bot: Bot, fake: FakeBotApi
) -> None:
    text = "نعتذر عن التأخير في معالجة البلاغ 😔 " * 200  # about 7000 UTF-16 units
    sent = await bot.connector.send(a_reply(text, in_reply_to=["5123456789:41"]))
    calls = fake.calls_to("sendMessage")
    assert len(calls) == 2
    assert "reply_parameters" in calls[0] and "reply_parameters" not in calls[1]
    assert " ".join(call["text"] for call in calls) == text.strip()
    assert sent.metadata["parts"] == ["5123456789:1000", "5123456789:1001"]
    assert sent.external_id == "5123456789:1001"
