"""Hostile input through the real app: every answer is 2xx or 4xx with a reason, every
citizen's message is stored raw and processed or dead-lettered, and no answer or log
line carries SQL, a stack trace or the test citizen's phone.

The corpus is files under ``tests/fixtures/hostile/``: SMS (Twilio signed as Twilio
signs, a generic gateway with an HMAC), Telegram updates in the Bot API's shape, mail
over SMTP to the real listener, and requests to the API, Open311 and the app API.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import re
import smtplib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select

from qanat.ingest.email.smtp import serve_smtp
from qanat.ingest.sms import gateways as sms
from qanat.ingest.telegram.connector import SPEC as TELEGRAM
from qanat.logs import JsonFormatter
from qanat.runtime import Runtime
from qanat.store.tables import Message
from tests.web.conftest import bearer_client

HOSTILE = Path(__file__).parents[1] / "fixtures" / "hostile"
#: The test citizen's phone: in the corpus, never in an answer or a log line.
PHONE = "+97333991177"
FORBIDDEN = ("INSERT INTO", "Traceback", PHONE, "[SQL:", "[parameters:")
TWILIO_TOKEN = "hostile-twilio-token"
PUBLIC_URL = "https://qanat.example.bh"
GATEWAY_KEY = "hostile-hmac-key"
TELEGRAM_SECRET = "hostile-webhook-secret"
STORED_STATES = {"processed", "dead_letter"}


def read(fixture: Path) -> bytes:
    """A corpus file's bytes, exactly as they are sent."""
    return fixture.read_bytes()


def corpus(folder: str, pattern: str) -> list[Path]:
    return sorted((HOSTILE / folder).glob(pattern))


@pytest.fixture
def configured(seeded: Runtime) -> Runtime:
    """The seeded runtime with an SMS (Twilio and gateway) and a Telegram account."""
    seeded.accounts["sms"] = [
        {
            "account": "main",
            "provider": "twilio",
            "account_sid": "AC0123456789abcdef0123456789abcdef",
            "auth_token": TWILIO_TOKEN,
            "public_url": PUBLIC_URL,
        },
        {"account": "json", "provider": "generic", "secret": GATEWAY_KEY, "auth": "hmac_sha256"},
    ]
    seeded.connectors.specs["telegram"] = TELEGRAM
    seeded.accounts["telegram"] = [
        {
            "account": "bot",
            "token": "7012345678:AAFakeTokenForTestsOnly_abcdefghijk",
            "secret_token": TELEGRAM_SECRET,
            # Nothing listens here: a file to fetch is kept with a note.
            "base_url": "http://127.0.0.1:9/bot",
            "base_file_url": "http://127.0.0.1:9/file/bot",
        }
    ]
    return seeded


@pytest.fixture
async def client(app: FastAPI, configured: Runtime) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://qanat.test") as http:
        yield http


@pytest.fixture
def logged(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    caplog.set_level(logging.INFO)  # what `qanat serve` logs (QANAT_LOG_LEVEL)
    return caplog


def assert_clean(text: str, where: str) -> None:
    for forbidden in FORBIDDEN:
        assert forbidden not in text, f"{forbidden!r} in {where}: {text[:300]}"


def assert_logs_clean(logged: pytest.LogCaptureFixture) -> None:
    formatter = JsonFormatter()
    for record in logged.records:
        assert_clean(formatter.format(record), f"log line of {record.name}")


def assert_answer(response: httpx.Response, allowed: list[int] | None = None) -> None:
    assert response.status_code < 500, response.text[:300]
    if allowed is not None:
        assert response.status_code in allowed, (response.status_code, response.text[:300])
    if response.status_code >= 400:
        assert response.text.strip(), "a refusal says why"
    assert_clean(response.text, "the answer")


async def stored_with_raw(runtime: Runtime, raw: bytes) -> Message:
    async with runtime.db.session() as session:
        found = (await session.execute(select(Message).where(Message.raw == raw))).scalars().all()
    assert len(found) == 1, "the citizen's message is stored once, byte for byte"
    [message] = found
    assert message.state in STORED_STATES, (message.state, message.state_reason)
    if message.state == "dead_letter":
        assert message.state_reason, "a dead letter says why"
    return message


def twilio_headers(body: bytes) -> dict[str, str]:
    params = parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True)
    url = f"{PUBLIC_URL}/webhooks/sms/main"
    return {
        "X-Twilio-Signature": sms.twilio_signature(TWILIO_TOKEN, url, params),
        "Content-Type": "application/x-www-form-urlencoded",
    }


@pytest.mark.parametrize("fixture", corpus("sms", "twilio__*.form"), ids=lambda p: p.stem)
async def test_twilio_messages_are_stored_whatever_their_metadata(
    client: httpx.AsyncClient, configured: Runtime, fixture: Path, logged: Any
) -> None:
    body = read(fixture)
    response = await client.post("/webhooks/sms/main", content=body, headers=twilio_headers(body))
    assert_answer(response, [200])
    message = await stored_with_raw(configured, body)
    assert len(message.sender_phone or "") <= 40 and len(message.external_id) <= 500
    assert_logs_clean(logged)


@pytest.mark.parametrize("fixture", corpus("sms", "gateway__*.json"), ids=lambda p: p.stem)
async def test_gateway_messages_are_stored_or_refused_with_a_reason(
    client: httpx.AsyncClient, configured: Runtime, fixture: Path, logged: Any
) -> None:
    body = read(fixture)
    digest = hmac.new(GATEWAY_KEY.encode(), body, hashlib.sha256).hexdigest()
    headers = {"Content-Type": "application/json", "X-Qanat-Signature": f"sha256={digest}"}
    response = await client.post("/webhooks/sms/json", content=body, headers=headers)
    if "nested" in fixture.stem:  # not what a gateway sends: the sender must fix it
        assert_answer(response, [400])
        assert "deeper" in response.json()["detail"]
    else:
        assert_answer(response, [200])
        message = await stored_with_raw(configured, body)
        assert "\x00" not in message.text and len(message.sender_phone or "") <= 40
    assert_logs_clean(logged)


@pytest.mark.parametrize("fixture", corpus("telegram", "*.json"), ids=lambda p: p.stem)
async def test_telegram_updates_are_stored_or_refused_with_a_reason(
    client: httpx.AsyncClient, configured: Runtime, fixture: Path, logged: Any
) -> None:
    body = read(fixture)
    headers = {
        "Content-Type": "application/json",
        "X-Telegram-Bot-Api-Secret-Token": TELEGRAM_SECRET,
    }
    response = await client.post("/webhooks/telegram/bot", content=body, headers=headers)
    if "nested" in fixture.stem:
        assert_answer(response, [400])
    else:
        assert_answer(response, [200])
        message = await stored_with_raw(configured, body)
        if fixture.stem == "location_latitude_999":
            assert message.location is None  # the point is off the globe; the message stays
        if fixture.stem == "chat_is_null":
            assert message.state == "dead_letter"
        if "_over_" in fixture.stem or fixture.stem.endswith("_with_nul"):
            assert message.channel_metadata.get("fitted"), "a cut field leaves a note"
    assert_logs_clean(logged)


def http_cases() -> list[dict[str, Any]]:
    lines = (HOSTILE / "http" / "requests.jsonl").read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines if line.strip()]


@pytest.mark.parametrize("case", http_cases(), ids=lambda case: case["name"])
async def test_api_open311_and_app_answer_bad_requests_with_a_reason(
    app: FastAPI, configured: Runtime, team: dict[str, int], case: dict[str, Any], logged: Any
) -> None:
    scopes = {"admin": ["read", "write", "submit"], "app": ["app"]}.get(case.get("auth", ""))
    if scopes is None:
        http = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://q.test")
    else:
        http, _ = await bearer_client(app, configured, user_id=team["admin"], scopes=scopes)
    body = case.get("body", "").encode()
    if "body_file" in case:
        body = read(HOSTILE / case["body_file"])
    headers = {"Content-Type": case["content_type"]} if "content_type" in case else {}
    async with http:
        request = http.build_request(case["method"], "http://q.test", content=body or None)
        request.url = httpx.URL(f"http://q.test{case['path']}")  # sent as written, %00 too
        request.headers.update(headers)
        response = await http.send(request)
    assert_answer(response, case["expect"])
    if response.status_code == 422:
        assert all(problem["msg"] for problem in response.json()["detail"])
    if case.get("citizen") is True or (case.get("citizen") and response.is_success):
        async with configured.db.session() as session:
            rows = await session.execute(select(Message).where(Message.channel == "call_centre"))
            [message] = [m for m in rows.scalars() if m.sender_phone == PHONE]
        assert message.state in STORED_STATES and "\x00" not in message.text
    assert_logs_clean(logged)


@pytest.mark.parametrize("fixture", corpus("email", "*.eml"), ids=lambda p: p.stem)
async def test_mail_with_oversized_fields_is_stored_not_deferred(
    configured: Runtime, fixture: Path, logged: Any
) -> None:
    raw = re.sub(rb"\r?\n", b"\r\n", read(fixture))
    server = await serve_smtp(
        configured.intake, "127.0.0.1", 0, domains={"qanat.example"}, account="mx"
    )
    port = int(server.sockets[0].getsockname()[1])
    try:
        import asyncio

        def deliver() -> tuple[int, bytes]:
            with smtplib.SMTP("127.0.0.1", port, timeout=30) as smtp:
                smtp.ehlo("mx.citizen.example")
                smtp.mail("citizen@example.com")
                smtp.rcpt("complaints@qanat.example")
                return smtp.data(raw)

        code, answer = await asyncio.to_thread(deliver)
    finally:
        server.close()
        await server.wait_closed()
    assert code == 250, answer  # never 451: the data is the citizen's, not an outage
    assert_clean(answer.decode(), "the SMTP answer")
    async with configured.db.session() as session:
        [message] = (
            (await session.execute(select(Message).where(Message.account == "mx"))).scalars().all()
        )
    assert message.state in STORED_STATES and message.channel_metadata.get("fitted")
    assert_logs_clean(logged)
