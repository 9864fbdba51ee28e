"""The citizen's side, end to end: one acknowledgement per new ticket with the reference,
in the language written, on the channel used — through the real connectors and their
local protocol servers (a fake Twilio, the fake Bot API, the fake X API, an SMTP server).

Each case runs on SQLite and PostgreSQL with jobs inline; one runs under the arq worker.
"""

from __future__ import annotations

import asyncio
import json
import re
import smtplib
import socket
from collections.abc import AsyncIterator, Iterator
from email import policy
from email.parser import BytesParser
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode

import httpx
import pytest
from sqlmodel import col

from qanat.config import Settings
from qanat.ingest.email.connector import smtp_options
from qanat.ingest.email.smtp import serve_smtp
from qanat.ingest.sms import gateways as sms
from qanat.ingest.telegram.connector import SECRET_HEADER
from qanat.ingest.telegram.connector import SPEC as TELEGRAM
from qanat.ingest.x.connector import SPEC as X
from qanat.ingest.x.connector import XConnector
from qanat.runtime import Runtime, start_runtime, stop_runtime
from qanat.store import timeline
from qanat.store.notice_tables import CitizenNotice
from qanat.store.tables import Event, Message, Ticket
from qanat.web.app import create_app
from tests.support.fake_telegram import FakeBotApi
from tests.support.fake_twilio import FakeTwilio
from tests.support.fake_x import OUR_ID, FakeXApi, client_for
from tests.support.loopback import serve
from tests.support.mail_server import mail_server
from tests.support.rows import rows

FIXTURES = Path(__file__).parents[1] / "fixtures"
TOKEN = "12345"
SMS_URL = "https://qanat.example.bh/webhooks/sms/main"
REFERENCE = re.compile(r"QN-\d{4}-\d{6}")
ARABIC = re.compile(r"[\u0600-\u06ff]")


def notices_on(runtime: Runtime) -> None:
    """Notices on, no quiet hours (the test may run at night)."""
    runtime.settings = runtime.settings.model_copy(
        update={"notices": True, "notice_quiet_hours": ""}
    )


# --- SMS through a fake Twilio -------------------------------------------------------------


@pytest.fixture(scope="module")
def twilio_api() -> Iterator[tuple[FakeTwilio, str]]:
    fake = FakeTwilio()
    with serve(fake.app()) as url:
        yield fake, url


@pytest.fixture
def twilio(twilio_api: tuple[FakeTwilio, str]) -> FakeTwilio:
    twilio_api[0].reset()
    return twilio_api[0]


def sms_account(url: str) -> dict[str, Any]:
    return {
        "account": "main",
        "provider": "twilio",
        "account_sid": "AC0123456789abcdef0123456789abcdef",
        "auth_token": TOKEN,
        "from_number": "+97316001234",
        "public_url": "https://qanat.example.bh/",
        "api_base": url,
    }


@pytest.fixture
async def http(
    runtime: Runtime, twilio_api: tuple[FakeTwilio, str]
) -> AsyncIterator[httpx.AsyncClient]:
    notices_on(runtime)
    runtime.accounts["sms"] = [sms_account(twilio_api[1])]
    transport = httpx.ASGITransport(app=create_app(runtime=runtime))
    async with httpx.AsyncClient(transport=transport, base_url="http://qanat.test") as client:
        yield client


def twilio_form(name: str, **changes: str) -> bytes:
    path = FIXTURES / "sms" / name
    if not path.exists():
        path = FIXTURES / "notices" / name
    fields = dict(parse_qsl(path.read_text(), keep_blank_values=True))
    fields.update(changes)
    return urlencode(fields).encode()


async def post_sms(http: httpx.AsyncClient, body: bytes) -> None:
    signature = sms.twilio_signature(
        TOKEN, SMS_URL, parse_qsl(body.decode(), keep_blank_values=True)
    )
    headers = {
        "X-Twilio-Signature": signature,
        "Content-Type": "application/x-www-form-urlencoded",
    }
    response = await http.post("/webhooks/sms/main", content=body, headers=headers)
    assert response.status_code == 200, response.text


async def test_an_arabic_sms_gets_one_arabic_acknowledgement_with_its_reference(
    runtime: Runtime, http: httpx.AsyncClient, twilio: FakeTwilio
) -> None:
    body = twilio_form("twilio_inbound_arabic.form")
    for _ in range(3):  # Twilio retries a webhook it thinks timed out: nothing twice
        await post_sms(http, body)
    [ticket] = await rows(runtime, Ticket)
    [sent] = twilio.sent
    assert sent["To"] == "+97333445566" and sent["From"] == "+97316001234"
    assert ticket.reference in sent["Body"]
    assert sent["Body"].startswith("وصلنا بلاغك") and "خلال" in sent["Body"]
    [notice] = await rows(runtime, CitizenNotice)
    assert (notice.kind, notice.state, notice.ticket_id) == ("ack", "released", ticket.id)
    outbound = await rows(runtime, Message, col(Message.direction) == "out")
    assert [(m.state, m.external_id[:5]) for m in outbound] == [("sent", "SMout")]
    # An acknowledgement is not staff's first response: the SLA clock still runs.
    assert ticket.first_response_at is None
    # The audit log keeps what qanat sent to whom and when.
    async with runtime.db.session() as session:
        from qanat.store import audit

        [sent_row] = [e for e in await audit.recent(session) if e["action"] == "notice_sent"]
    assert sent_row["detail"]["to"] == "+97333445566" and sent_row["detail"]["notice"] == "ack"


async def test_an_english_sms_is_acknowledged_in_english_with_the_expected_time(
    runtime: Runtime, http: httpx.AsyncClient, twilio: FakeTwilio
) -> None:
    await post_sms(http, twilio_form("twilio_inbound_english.form"))
    [ticket] = await rows(runtime, Ticket)
    [sent] = twilio.sent
    assert sent["Body"].startswith(f"We received your report. Your reference is {ticket.reference}")
    assert re.search(r"within \d+ (working )?(day|hour)s?", sent["Body"])
    assert not ARABIC.search(sent["Body"])


async def test_a_duplicates_reporter_hears_it_is_known_and_a_follow_up_hears_nothing(
    runtime: Runtime, http: httpx.AsyncClient, twilio: FakeTwilio
) -> None:
    await post_sms(http, twilio_form("twilio_inbound_arabic.form"))
    # Another citizen about the same overflow: a duplicate, with her own reference.
    other = twilio_form(
        "twilio_inbound_arabic.form", From="+97336998877", MessageSid="SMdup1", SmsSid="SMdup1"
    )
    await post_sms(http, other)
    # The first citizen writes again: a follow-up in his open conversation.
    again = twilio_form(
        "twilio_inbound_arabic.form",
        MessageSid="SMfollow1",
        SmsSid="SMfollow1",
        Body="وين وصلتوا؟ للحين المجاري طافحة",
    )
    await post_sms(http, again)
    first, duplicate = await rows(runtime, Ticket)
    assert duplicate.primary_ticket_id == first.id
    assert [m["To"] for m in twilio.sent] == ["+97333445566", "+97336998877"]
    known = twilio.sent[1]["Body"]
    assert duplicate.reference in known and first.reference not in known
    assert "مبلَّغ عنها من قبل" in known


async def test_a_gateway_that_fails_twice_is_retried_and_the_notice_sent_once(
    runtime: Runtime, http: httpx.AsyncClient, twilio: FakeTwilio
) -> None:
    twilio.failures = 2
    await post_sms(http, twilio_form("twilio_inbound_arabic.form"))
    assert twilio.tries == 3 and len(twilio.sent) == 1
    [ticket] = await rows(runtime, Ticket)
    [event] = await rows(runtime, Event, col(Event.type) == "reply_sent")
    assert event.ticket_id == ticket.id and event.data["notice"] == "ack"
    assert event.data["tries"] == 3 and event.actor == "qanat"


async def test_a_gateway_that_stays_down_shows_the_failed_notice_on_the_ticket(
    runtime: Runtime, http: httpx.AsyncClient, twilio: FakeTwilio
) -> None:
    twilio.failures = 1000
    await post_sms(http, twilio_form("twilio_inbound_arabic.form"))
    assert twilio.tries == runtime.settings.send_attempts and not twilio.sent
    [ticket] = await rows(runtime, Ticket)
    [failed] = await rows(runtime, Event, col(Event.type) == "reply_failed")
    assert failed.ticket_id == ticket.id and failed.data["notice"] == "ack"
    assert "503" in failed.data["detail"]
    [outbound] = await rows(runtime, Message, col(Message.direction) == "out")
    assert outbound.state == "failed"
    # The ticket's timeline shows it as a failed message out, with the reason.
    async with runtime.db.session() as session:
        assert ticket.id is not None
        entries = await timeline.timeline(session, ticket_id=ticket.id, internal=True)
    [shown] = [e.message for e in entries if e.message and e.message.direction == "out"]
    assert shown.state == "failed" and shown.channel_metadata["notice"] == "ack"
    assert shown.state_reason and "503" in shown.state_reason


async def test_quiet_hours_hold_an_sms_notice_until_morning(
    runtime: Runtime, http: httpx.AsyncClient, twilio: FakeTwilio
) -> None:
    from datetime import UTC, datetime, timedelta

    from qanat.jobs.sweep import sweep
    from qanat.store.tables import stamped_at

    runtime.settings = runtime.settings.model_copy(update={"notice_quiet_hours": "sms=21:00-07:00"})
    night = datetime(2026, 11, 2, 23, 30, tzinfo=UTC)  # 02:30 in Bahrain
    with stamped_at(night):
        await post_sms(http, twilio_form("twilio_inbound_arabic.form"))
    assert twilio.sent == []
    [notice] = await rows(runtime, CitizenNotice)
    assert notice.due_at == datetime(2026, 11, 3, 4, 0, tzinfo=UTC)  # 07:00 in Bahrain
    await sweep(runtime, now=night + timedelta(hours=1))
    assert twilio.sent == []
    await sweep(runtime, now=notice.due_at + timedelta(minutes=1))
    assert len(twilio.sent) == 1


# --- Telegram through the fake Bot API ----------------------------------------------------


@pytest.fixture(scope="module")
def bot_api() -> Iterator[tuple[FakeBotApi, str]]:
    fake = FakeBotApi()
    with serve(fake.app()) as url:
        yield fake, url


@pytest.fixture
async def telegram(
    runtime: Runtime, bot_api: tuple[FakeBotApi, str]
) -> AsyncIterator[tuple[FakeBotApi, httpx.AsyncClient]]:
    fake, url = bot_api
    fake.reset()
    notices_on(runtime)
    runtime.connectors.specs["telegram"] = TELEGRAM
    runtime.accounts["telegram"] = [
        {
            "account": "ministry_bot",
            "token": fake.token,
            "mode": "webhook",
            "secret_token": "s3cret",
            "base_url": f"{url}/bot",
            "base_file_url": f"{url}/file/bot",
        }
    ]
    transport = httpx.ASGITransport(app=create_app(runtime=runtime))
    async with httpx.AsyncClient(transport=transport, base_url="http://qanat.test") as client:
        yield fake, client


@pytest.mark.parametrize(
    ("fixture", "chat", "opening"),
    [
        ("telegram/text_arabic.json", 5123456789, "وصلنا بلاغك"),
        ("notices/telegram_english.json", 5123400001, "We received your report."),
    ],
)
async def test_a_telegram_message_gets_one_acknowledgement_in_its_language(
    runtime: Runtime,
    telegram: tuple[FakeBotApi, httpx.AsyncClient],
    fixture: str,
    chat: int,
    opening: str,
) -> None:
    fake, client = telegram
    body = (FIXTURES / fixture).read_bytes()
    headers = {"content-type": "application/json", SECRET_HEADER: "s3cret"}
    for _ in range(2):  # Telegram delivers an update again when unsure: nothing twice
        webhook = "/webhooks/telegram/ministry_bot"
        response = await client.post(webhook, content=body, headers=headers)
        assert response.status_code == 200
    [ticket] = await rows(runtime, Ticket)
    [sent] = fake.calls_to("sendMessage")
    assert int(sent["chat_id"]) == chat
    assert sent["text"].startswith(opening) and ticket.reference in sent["text"]


# --- X through the fake X API -------------------------------------------------------------


@pytest.fixture(scope="module")
def x_api() -> Iterator[tuple[FakeXApi, str]]:
    fake = FakeXApi()
    with serve(fake.app()) as url:
        yield fake, url


@pytest.fixture
async def x(runtime: Runtime, x_api: tuple[FakeXApi, str]) -> FakeXApi:
    fake, url = x_api
    fake.reset()
    notices_on(runtime)
    runtime.connectors.specs["x"] = X
    runtime.accounts["x"] = [
        {
            "account": "moworks",
            "user_id": OUR_ID,
            "consumer_key": "ck",
            "consumer_secret": "cs",
            "access_token": "at",
            "access_token_secret": "ats",
        }
    ]
    await runtime.connectors.http.aclose()
    runtime.connectors.http = client_for(url)
    watermark = {"mentions_since_id": "1985123456789012000", "dm_since_id": "1985200000000000000"}
    await runtime.cursors.put("x", "moworks", watermark)
    return fake


async def test_an_x_mention_gets_one_public_acknowledgement_without_private_data(
    runtime: Runtime, x: FakeXApi
) -> None:
    x.load("mentions_page2.json")
    connector = runtime.connectors.get("x", "moworks")
    assert isinstance(connector, XConnector)
    await connector.poll_once()
    await connector.poll_once()  # polled again: nothing new, nothing sent again
    [ticket] = await rows(runtime, Ticket)
    [post] = x.to("/2/tweets")
    assert post.body["reply"] == {"in_reply_to_tweet_id": "1985123456789012345"}
    text = post.body["text"]
    assert ticket.reference in text and ARABIC.search(text)
    assert "بو أحمد" not in text and "+973" not in text


# --- Email through the SMTP listener and a relay ------------------------------------------


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def send_mail(port: int, raw: bytes, sender: str) -> None:
    with smtplib.SMTP("127.0.0.1", port, timeout=10) as client:
        client.sendmail(sender, ["complaints@qanat.example"], raw)


@pytest.mark.parametrize(
    ("fixture", "sender", "opening"),
    [
        ("email/arabic_utf8_base64.eml", "mariam.hasan.bh@gmail.com", "وصلنا"),
        ("notices/english.eml", "john.smith@example.com", "We received your"),
    ],
)
async def test_an_email_gets_one_acknowledgement_by_mail_in_its_language(
    runtime: Runtime, fixture: str, sender: str, opening: str
) -> None:
    notices_on(runtime)
    runtime.settings = runtime.settings.model_copy(update={"smtp_domains": "qanat.example"})
    raw = (FIXTURES / fixture).read_bytes().replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
    async with mail_server() as (world, relay_port):
        runtime.accounts["email"] = [
            {
                "account": "smtp",
                "smtp": {
                    "host": "127.0.0.1",
                    "port": relay_port,
                    "starttls": False,
                    "from_address": "complaints@qanat.example",
                },
            }
        ]
        port = free_port()
        options = smtp_options(runtime.settings)
        server = await serve_smtp(runtime.intake, "127.0.0.1", port, **options)
        try:
            await asyncio.to_thread(send_mail, port, raw, sender)
            await asyncio.to_thread(send_mail, port, raw, sender)  # sent twice: one ticket
        finally:
            server.close()
        [ticket] = await rows(runtime, Ticket)
        [mail] = world.messages()
    assert mail["To"].addresses[0].addr_spec == sender
    assert ticket.reference in mail["Subject"]
    body = mail.get_body(("plain",))
    assert body is not None and opening in body.get_content()
    assert ticket.reference in body.get_content()


# --- Under the arq worker -----------------------------------------------------------------


async def test_the_worker_queues_the_acknowledgement_as_its_own_job(
    settings: Settings, redis_url: str, twilio_api: tuple[FakeTwilio, str]
) -> None:
    from arq.connections import RedisSettings
    from arq.worker import Worker

    from qanat.model import Inbound, Sender
    from qanat.worker import WorkerSettings

    fake, url = twilio_api
    fake.reset()
    settings = settings.model_copy(
        update={"redis_url": redis_url, "notices": True, "notice_quiet_hours": ""}
    )
    runtime = await start_runtime(settings)

    async def startup(ctx: dict[str, Any]) -> None:
        ctx["settings"] = settings
        await WorkerSettings.on_startup(ctx)
        ctx["runtime"].accounts["sms"] = [sms_account(url)]

    try:
        from datetime import UTC, datetime

        inbound = Inbound(
            channel="sms",
            account="main",
            external_id="SMworker1",
            received_at=datetime(2026, 11, 2, 5, 0, tzinfo=UTC),
            sender=Sender(handle="+97333123456", phone="+97333123456"),
            text="طفح مجاري في مجمع 305 طريق 45",
        )
        await runtime.intake.save(inbound)
        await runtime.intake.save(inbound)  # the webhook again
        worker = Worker(
            functions=WorkerSettings.functions,
            redis_settings=RedisSettings.from_dsn(redis_url),
            on_startup=startup,
            on_shutdown=WorkerSettings.on_shutdown,
            ctx={"settings": settings},
            burst=True,
            poll_delay=0.05,
            handle_signals=False,
        )
        await worker.main()
        await worker.close()
        # Two jobs: processing the message, then sending its acknowledgement.
        assert worker.jobs_complete == 2 and worker.jobs_failed == 0
        [sent] = fake.sent
        [ticket] = await rows(runtime, Ticket)
        assert ticket.reference in sent["Body"]
    finally:
        await stop_runtime(runtime)


def test_mail_fixtures_parse() -> None:
    """The English fixture is well-formed mail (a guard for the case above)."""
    raw = (FIXTURES / "notices" / "english.eml").read_bytes()
    parsed = BytesParser(policy=policy.default).parsebytes(raw)
    assert parsed["Message-ID"] == "<notice-english-1@mail.example.com>"
    assert json.loads((FIXTURES / "notices" / "telegram_english.json").read_text())["message"]


# --- Status notices and "is it fixed?" over SMS --------------------------------------------


async def as_staff(runtime: Runtime) -> Any:
    """An admin acting from the inbox."""
    from qanat.store.staff import user_named, viewer_of
    from qanat.store.users import add_user
    from qanat.web import work

    await add_user(
        runtime.db, username="noora", role="admin", display_name="Noora", password="x" * 12
    )
    async with runtime.db.session() as session:
        user = await user_named(session, username="noora")
    assert user is not None
    return work.Request(viewer=viewer_of(user))


async def reported_twice(runtime: Runtime, http: httpx.AsyncClient) -> tuple[Ticket, Ticket]:
    """The overflow reported by two citizens: the primary and its duplicate."""
    await post_sms(http, twilio_form("twilio_inbound_arabic.form"))
    other = twilio_form(
        "twilio_inbound_english.form",
        Body="Sewage overflowing in block 305 road 45 since yesterday",
        MessageSid="SMdup2",
        SmsSid="SMdup2",
    )
    await post_sms(http, other)
    primary, duplicate = await rows(runtime, Ticket)
    assert duplicate.primary_ticket_id == primary.id
    return primary, duplicate


async def test_resolving_tells_every_reporter_once_then_asks_after_the_delay(
    runtime: Runtime, http: httpx.AsyncClient, twilio: FakeTwilio
) -> None:
    from datetime import timedelta

    from qanat.jobs.sweep import sweep
    from qanat.store.tables import utcnow
    from qanat.web import work

    primary, duplicate = await reported_twice(runtime, http)
    twilio.reset()
    who = await as_staff(runtime)
    await work.update(
        runtime, who, primary.reference, status="resolved", resolution_text="Cleaned today."
    )
    told = {m["To"]: m["Body"] for m in twilio.sent}
    assert len(twilio.sent) == 2  # each reporter once, no staff reply on top
    assert primary.reference in told["+97333445566"] and "Cleaned today." in told["+97333445566"]
    assert told["+97339001122"].startswith(f"About {duplicate.reference}: your report has been")
    twilio.reset()
    await sweep(runtime, now=utcnow() + timedelta(hours=1))
    assert twilio.sent == []  # the survey waits for its delay
    await sweep(runtime, now=utcnow() + timedelta(hours=25))
    asked = {m["To"]: m["Body"] for m in twilio.sent}
    assert "هل حُلّت المشكلة" in asked["+97333445566"]
    assert "is the problem fixed?" in asked["+97339001122"]
    await sweep(runtime, now=utcnow() + timedelta(hours=26))
    assert len(twilio.sent) == 2  # asked once


async def ask(runtime: Runtime, http: httpx.AsyncClient, twilio: FakeTwilio) -> Ticket:
    """One citizen's ticket, resolved, and the survey sent at once (no delay)."""
    runtime.settings = runtime.settings.model_copy(update={"survey_delay_hours": 0})
    await post_sms(http, twilio_form("twilio_inbound_arabic.form"))
    [ticket] = await rows(runtime, Ticket)
    from qanat.web import work

    await work.update(runtime, await as_staff(runtime), ticket.reference, status="resolved")
    assert "هل حُلّت المشكلة" in twilio.sent[-1]["Body"]
    return ticket


async def answer(http: httpx.AsyncClient, text: str, sid: str) -> None:
    await post_sms(
        http, twilio_form("twilio_inbound_arabic.form", Body=text, MessageSid=sid, SmsSid=sid)
    )


async def test_a_no_reopens_the_ticket_with_the_citizens_words_and_a_new_deadline(
    runtime: Runtime, http: httpx.AsyncClient, twilio: FakeTwilio
) -> None:
    ticket = await ask(runtime, http, twilio)
    await answer(http, "لا، ما زالت المشكلة", "SManswer1")
    [after] = await rows(runtime, Ticket)  # the answer opened no ticket of its own
    assert after.status == "open" and after.resolved_at is None
    assert after.sla_due_at is not None and after.sla_due_at > ticket.created_at
    [answered] = await rows(runtime, Event, col(Event.type) == "survey_answered")
    assert answered.data == {"verdict": "negative", "score": None, "words": "لا، ما زالت المشكلة"}
    reopened = await rows(runtime, Event, col(Event.type) == "status_changed")
    assert reopened[-1].data["words"] == "لا، ما زالت المشكلة"
    assert reopened[-1].data["to"] == "open"
    assert await rows(runtime, Event, col(Event.type) == "sla_restarted")
    [survey] = await rows(runtime, CitizenNotice, col(CitizenNotice.kind) == "survey")
    assert survey.satisfied is False and survey.answer_text == "لا، ما زالت المشكلة"
    assert "أعدنا فتح" in twilio.sent[-1]["Body"] and "خلال" in twilio.sent[-1]["Body"]


async def test_a_five_records_satisfaction_and_leaves_the_ticket_resolved(
    runtime: Runtime, http: httpx.AsyncClient, twilio: FakeTwilio
) -> None:
    await ask(runtime, http, twilio)
    await answer(http, "٥", "SManswer2")
    [ticket] = await rows(runtime, Ticket)
    assert ticket.status == "resolved"
    [survey] = await rows(runtime, CitizenNotice, col(CitizenNotice.kind) == "survey")
    assert (survey.score, survey.satisfied) == (5, True)
    assert twilio.sent[-1]["Body"].startswith("شكرًا لرأيك")
    # A second "5" is no longer an answer to anything: an ordinary follow-up.
    await answer(http, "5", "SManswer3")
    assert len(await rows(runtime, CitizenNotice, col(CitizenNotice.kind) == "thanks")) == 1


async def test_a_tick_without_words_is_an_answer_not_an_empty_message(
    runtime: Runtime, http: httpx.AsyncClient, twilio: FakeTwilio
) -> None:
    await ask(runtime, http, twilio)
    await answer(http, "✅", "SMtick")
    [survey] = await rows(runtime, CitizenNotice, col(CitizenNotice.kind) == "survey")
    assert survey.satisfied is True and survey.answer_text == "✅"
    [tick] = await rows(runtime, Message, col(Message.external_id) == "SMtick")
    assert tick.state == "processed"


async def test_a_no_from_a_duplicates_reporter_reopens_the_resolved_primary_too(
    runtime: Runtime, http: httpx.AsyncClient, twilio: FakeTwilio
) -> None:
    from qanat.web import work

    runtime.settings = runtime.settings.model_copy(update={"survey_delay_hours": 0})
    primary, duplicate = await reported_twice(runtime, http)
    await work.update(runtime, await as_staff(runtime), primary.reference, status="resolved")
    english = twilio_form(
        "twilio_inbound_english.form", Body="still broken", MessageSid="SMno", SmsSid="SMno"
    )
    await post_sms(http, english)
    first, second = await rows(runtime, Ticket)
    assert (first.status, second.status) == ("open", "open")
    [words] = [
        e for e in await rows(runtime, Event, col(Event.ticket_id) == first.id) if "words" in e.data
    ]
    assert words.data["words"] == "still broken" and duplicate.reference in words.data["reason"]


async def test_on_hold_tells_the_citizen_what_is_needed(
    runtime: Runtime, http: httpx.AsyncClient, twilio: FakeTwilio
) -> None:
    from qanat.web import work

    await post_sms(http, twilio_form("twilio_inbound_english.form"))
    [ticket] = await rows(runtime, Ticket)
    await work.update(
        runtime,
        await as_staff(runtime),
        ticket.reference,
        status="pending",
        reason="a photo of the pothole.",
    )
    assert twilio.sent[-1]["Body"] == (
        f"About {ticket.reference}: to carry on we need from you: a photo of the pothole. "
        "Please reply to this message."
    )


async def test_stop_ends_the_notices_to_that_number(
    runtime: Runtime, http: httpx.AsyncClient, twilio: FakeTwilio
) -> None:
    from qanat.web import work

    await post_sms(http, twilio_form("twilio_inbound_arabic.form"))
    [ticket] = await rows(runtime, Ticket)
    await answer(http, "إيقاف", "SMstop")
    await work.update(runtime, await as_staff(runtime), ticket.reference, status="resolved")
    assert len(twilio.sent) == 1  # the acknowledgement only
    [stopped] = await rows(runtime, Message, col(Message.external_id) == "SMstop")
    assert stopped.state == "ignored" and len(await rows(runtime, Ticket)) == 1
    skipped = await rows(runtime, CitizenNotice, col(CitizenNotice.kind) == "resolved")
    assert [n.state for n in skipped] == ["skipped"]


async def test_forwarding_tells_every_reporter_which_body_has_it_now(
    runtime: Runtime, http: httpx.AsyncClient, twilio: FakeTwilio
) -> None:
    from qanat.jobs.field_visits import Who
    from qanat.web.ticket_field import forward

    runtime.accounts["open311"] = [
        {
            "account": "ewa",
            "endpoint": "http://127.0.0.1:9/open311/v2",  # nothing listens: the post fails
            "api_key": "k",
            "poll": False,
            "forward": True,
            "name_ar": "هيئة الكهرباء والماء",
            "name_en": "the Electricity and Water Authority",
        }
    ]
    primary, duplicate = await reported_twice(runtime, http)
    twilio.reset()
    staff = await as_staff(runtime)
    await forward(runtime, Who(viewer=staff.viewer), primary.reference, "ewa")
    told = {m["To"]: m["Body"] for m in twilio.sent}
    assert "هيئة الكهرباء والماء" in told["+97333445566"]
    assert "the Electricity and Water Authority" in told["+97339001122"]
    assert duplicate.reference in told["+97339001122"]
    await forward(runtime, Who(viewer=staff.viewer), primary.reference, "ewa")  # asked again
    assert len(twilio.sent) == 2


async def test_the_web_forms_citizen_is_acknowledged_at_the_email_they_gave(
    runtime: Runtime,
) -> None:
    from datetime import UTC, datetime

    from qanat.model import Inbound, Sender

    notices_on(runtime)
    async with mail_server() as (world, relay_port):
        runtime.accounts["email"] = [
            {
                "account": "complaints",
                "smtp": {
                    "host": "127.0.0.1",
                    "port": relay_port,
                    "starttls": False,
                    "from_address": "complaints@qanat.example",
                },
            }
        ]
        form = Inbound(
            channel="web",
            account="form",
            external_id="web-notice-1",
            received_at=datetime(2026, 11, 2, 6, 0, tzinfo=UTC),
            sender=Sender(handle="sara@example.com", email="sara@example.com", name="Sara"),
            text="The street light on road 45 in block 305 is broken",
        )
        await runtime.intake.save(form)
        await runtime.intake.save(form)  # the form posted twice
        [ticket] = await rows(runtime, Ticket)
        [mail] = world.messages()
    assert mail["To"].addresses[0].addr_spec == "sara@example.com"
    body = mail.get_body(("plain",))
    assert body is not None and f"Your reference is {ticket.reference}" in body.get_content()
    [sent] = await rows(runtime, Message, col(Message.direction) == "out")
    assert (sent.channel, sent.ticket_id, sent.state) == ("email", ticket.id, "sent")


async def test_the_apps_citizen_with_only_a_phone_is_acknowledged_by_sms(
    runtime: Runtime, twilio_api: tuple[FakeTwilio, str]
) -> None:
    from datetime import UTC, datetime

    from qanat.model import Inbound, Sender

    fake, url = twilio_api
    fake.reset()
    notices_on(runtime)
    runtime.accounts["sms"] = [sms_account(url)]
    await runtime.intake.save(
        Inbound(
            channel="app",
            account="app",
            external_id="rep:app-1",
            received_at=datetime(2026, 11, 2, 6, 0, tzinfo=UTC),
            sender=Sender(handle="+97333112233", phone="+97333112233"),
            text="حفرة كبيرة في طريق 2803 مجمع 328",
        )
    )
    [ticket] = await rows(runtime, Ticket)
    [sent] = fake.sent
    assert sent["To"] == "+97333112233" and ticket.reference in sent["Body"]
    assert sent["Body"].startswith("وصلنا")


async def test_a_web_report_with_nothing_to_reach_is_skipped_with_the_reason(
    runtime: Runtime,
) -> None:
    from datetime import UTC, datetime

    from qanat.model import Inbound, Sender

    notices_on(runtime)  # no email or SMS account configured
    await runtime.intake.save(
        Inbound(
            channel="web",
            account="form",
            external_id="web-notice-2",
            received_at=datetime(2026, 11, 2, 6, 0, tzinfo=UTC),
            sender=Sender(handle="sara@example.com", email="sara@example.com"),
            text="The street light on road 45 in block 305 is broken",
        )
    )
    [notice] = await rows(runtime, CitizenNotice)
    assert (
        notice.state == "skipped" and notice.state_reason == "nothing can send it to this citizen"
    )
    assert await rows(runtime, Message, col(Message.direction) == "out") == []
