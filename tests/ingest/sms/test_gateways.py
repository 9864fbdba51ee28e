"""SMS: signatures, payload mapping, segments, and the webhooks end to end."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import parse_qsl

import httpx
import pytest
from sqlalchemy import select

from qanat.errors import ChannelUnavailable
from qanat.ingest.sms import gateways as sms
from qanat.model import Reply, Sender
from qanat.runtime import Runtime
from qanat.store.tables import ContactIdentity, Event, Message, Ticket
from qanat.web.app import create_app

FIXTURES = Path(__file__).parents[2] / "fixtures" / "sms"
TOKEN = "12345"
URL = "https://qanat.example.bh/webhooks/sms/main"
ACCOUNTS = [
    {
        "account": "main",
        "provider": "twilio",
        "account_sid": "AC0123456789abcdef0123456789abcdef",
        "auth_token": TOKEN,
        "from_number": "+97316001234",
        "public_url": "https://qanat.example.bh/",
    },
    {"account": "jasmin", "provider": "generic", "secret": "gw-secret", "flavour": "jasmin"},
    {
        "account": "json",
        "provider": "generic",
        "secret": "hmac-key",
        "auth": "hmac_sha256",
        "fields": {
            "from": "from",
            "to": "to",
            "text": "content",
            "id": "id",
            "part_ref": "udh_ref",
            "part_total": "udh_total",
            "part_seq": "udh_seq",
        },
    },
]


def test_the_public_twilio_test_vector() -> None:
    params = [
        ("CallSid", "CA1234567890ABCDE"),
        ("Caller", "+14158675309"),
        ("Digits", "1234"),
        ("From", "+14158675309"),
        ("To", "+18005551212"),
    ]
    url = "https://mycompany.com/myapp.php?foo=1&bar=2"
    assert sms.twilio_signature(TOKEN, url, params) == "RSOYDt4T1cUTdK1PDd93/VVr8B8="
    assert sms.twilio_signature_ok(TOKEN, url, params, "RSOYDt4T1cUTdK1PDd93/VVr8B8=")
    assert not sms.twilio_signature_ok(TOKEN, url + "&x=1", params, "RSOYDt4T1cUTdK1PDd93/VVr8B8=")
    assert not sms.twilio_signature_ok(TOKEN, url, params, None)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("a" * 160, ("gsm7", 1)),
        ("a" * 161, ("gsm7", 2)),
        ("a" * 306, ("gsm7", 2)),
        ("a" * 307, ("gsm7", 3)),
        ("€" * 80, ("gsm7", 1)),
        ("€" * 81, ("gsm7", 2)),
        ("ب" * 70, ("ucs2", 1)),
        ("ب" * 71, ("ucs2", 2)),
        ("ب" * 134, ("ucs2", 2)),
        ("ب" * 135, ("ucs2", 3)),
        ("😀" * 35, ("ucs2", 1)),
        ("😀" * 36, ("ucs2", 2)),
    ],
)
def test_segments_follow_gsm7_and_ucs2_limits(text: str, expected: tuple[str, int]) -> None:
    assert sms.sms_segments(text) == expected


def test_parts_are_joined_only_when_complete() -> None:
    assert sms.reassemble({1: "a", 3: "c"}, 3) is None
    assert sms.reassemble({2: "b", 1: "a", 3: "c"}, 3) == "abc"


def signed(body: bytes, url: str = URL) -> dict[str, str]:
    return {
        "X-Twilio-Signature": sms.twilio_signature(
            TOKEN, url, parse_qsl(body.decode(), keep_blank_values=True)
        ),
        "Content-Type": "application/x-www-form-urlencoded",
    }


@pytest.fixture
async def http(runtime: Runtime) -> AsyncIterator[httpx.AsyncClient]:
    runtime.connectors.accounts = {"sms": ACCOUNTS}
    transport = httpx.ASGITransport(app=create_app(runtime=runtime))
    async with httpx.AsyncClient(transport=transport, base_url="http://qanat.test") as client:
        yield client


async def rows(runtime: Runtime, table: type) -> list:  # type: ignore[type-arg]
    async with runtime.db.session() as session:
        return list((await session.execute(select(table))).scalars())


async def test_a_signed_twilio_message_becomes_a_ticket_once(
    http: httpx.AsyncClient, runtime: Runtime
) -> None:
    body = (FIXTURES / "twilio_inbound_arabic.form").read_bytes()
    for _ in range(2):  # Twilio retries after a timeout: stored once
        response = await http.post("/webhooks/sms/main", content=body, headers=signed(body))
        assert response.status_code == 200 and "<Response>" in response.text
    [message] = await rows(runtime, Message)
    assert message.external_id == "SM5f0e2b7c9a1d4e3f8b6a2c1d0e9f8a7b"
    assert message.raw == body and message.text.startswith("طفح مجاري في مجمع ٣٠٥")
    assert message.state == "processed" and message.ticket_id is not None
    identities = {(i.kind, i.value) for i in await rows(runtime, ContactIdentity)}
    assert ("phone", "+97333445566") in identities


async def test_a_forged_twilio_request_is_refused_and_nothing_stored(
    http: httpx.AsyncClient, runtime: Runtime
) -> None:
    body = (FIXTURES / "twilio_inbound_arabic.form").read_bytes()
    headers = signed(body)
    tampered = body.replace(b"From=%2B97333445566", b"From=%2B97333000000")
    response = await http.post("/webhooks/sms/main", content=tampered, headers=headers)
    assert response.status_code == 403
    missing = await http.post(
        "/webhooks/sms/main",
        content=body,
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert missing.status_code == 403
    unknown = await http.post("/webhooks/sms/nope", content=body, headers=headers)
    assert unknown.status_code == 404
    assert await rows(runtime, Message) == []


async def test_media_is_kept_as_a_noted_attachment(
    http: httpx.AsyncClient, runtime: Runtime
) -> None:
    body = (FIXTURES / "twilio_inbound_mms_english.form").read_bytes()
    await http.post("/webhooks/sms/main", content=body, headers=signed(body))
    from qanat.store.tables import Attachment

    [attachment] = await rows(runtime, Attachment)
    assert attachment.content_type == "image/jpeg"
    assert attachment.note and "not fetched" in attachment.note


async def test_the_store_down_answers_503(
    http: httpx.AsyncClient, runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def down(_inbound: object) -> None:
        raise ChannelUnavailable("the store cannot save messages now")

    monkeypatch.setattr(runtime.intake, "save", down)
    body = (FIXTURES / "twilio_inbound_arabic.form").read_bytes()
    response = await http.post("/webhooks/sms/main", content=body, headers=signed(body))
    assert response.status_code == 503


async def test_a_delivery_receipt_is_recorded_on_our_reply(
    http: httpx.AsyncClient, runtime: Runtime
) -> None:
    from qanat.model import Inbound
    from qanat.store import queries

    async with runtime.db.writing() as session:  # our reply, as the reply flow stores it
        reply = Inbound.model_validate(
            {
                "channel": "sms",
                "account": "main",
                "external_id": "SMa1b2c3d4e5f60718293a4b5c6d7e8f90",
                "received_at": "2026-11-02T09:00:00+03:00",
                "sender": {"handle": "+97316001234"},
                "text": "تم استلام بلاغكم",
            }
        )
        await queries.save_message(session, inbound=reply, state="processed")
    body = (FIXTURES / "twilio_status_delivered.form").read_bytes()
    response = await http.post(
        "/webhooks/sms/main/status",
        content=body,
        headers=signed(body, URL + "/status"),
    )
    assert response.status_code == 204
    [message] = await rows(runtime, Message)
    assert message.channel_metadata["delivery"] == "delivered"
    assert [e.type for e in await rows(runtime, Event)] == ["delivery_status"]


async def test_jasmin_gets_its_ack_and_a_wrong_secret_is_refused(
    http: httpx.AsyncClient, runtime: Runtime
) -> None:
    body = (FIXTURES / "jasmin_deliver_arabic.form").read_bytes()
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    forged = await http.post("/webhooks/sms/jasmin?secret=guess", content=body, headers=headers)
    assert forged.status_code == 403 and await rows(runtime, Message) == []
    response = await http.post(
        "/webhooks/sms/jasmin?secret=gw-secret", content=body, headers=headers
    )
    assert response.status_code == 200 and response.text == "ACK/Jasmin"
    [message] = await rows(runtime, Message)
    assert message.sender_handle == "97336112233" and "الزبالة" in message.text
    identities = {(i.kind, i.value) for i in await rows(runtime, ContactIdentity)}
    assert ("phone", "+97336112233") in identities


def hmac_headers(body: bytes) -> dict[str, str]:
    digest = hmac.new(b"hmac-key", body, hashlib.sha256).hexdigest()
    return {"Content-Type": "application/json", "X-Qanat-Signature": f"sha256={digest}"}


async def test_concatenated_parts_become_one_message(
    http: httpx.AsyncClient, runtime: Runtime
) -> None:
    second = (FIXTURES / "generic_json_part2.json").read_bytes()
    first = (FIXTURES / "generic_json_part1.json").read_bytes()
    for body in (second, first, second):  # out of order, and one delivered twice
        response = await http.post("/webhooks/sms/json", content=body, headers=hmac_headers(body))
        assert response.status_code == 200
    messages = {m.external_id: m for m in await rows(runtime, Message)}
    whole = messages["concat:+97333221100:42:2"]
    assert whole.text.startswith("السلام عليكم") and whole.text.endswith("يلعبون هناك")
    assert whole.state == "processed"
    held = [m for m in messages.values() if m.external_id.startswith("part:")]
    assert len(held) == 2 and {m.state for m in held} == {"ignored"}
    assert len(await rows(runtime, Ticket)) == 1


async def test_a_truncated_json_body_is_400_with_the_reason(
    http: httpx.AsyncClient, runtime: Runtime
) -> None:
    body = (FIXTURES / "generic_json_truncated.json").read_bytes()
    response = await http.post("/webhooks/sms/json", content=body, headers=hmac_headers(body))
    assert response.status_code == 400 and response.json()["detail"].startswith("not JSON")
    assert await rows(runtime, Message) == []


async def test_an_sms_soon_after_joins_the_open_ticket_of_that_number(
    http: httpx.AsyncClient, runtime: Runtime
) -> None:
    for name in ("generic_json_part1.json",):
        body = (FIXTURES / name).read_bytes().replace(b'"udh_total": "2"', b'"udh_total": "1"')
        await http.post("/webhooks/sms/json", content=body, headers=hmac_headers(body))
    later = b'{"id": "kn-2", "from": "+97333221100", "content": "any update?"}'
    await http.post("/webhooks/sms/json", content=later, headers=hmac_headers(later))
    assert len(await rows(runtime, Ticket)) == 1
    assert {m.ticket_id for m in await rows(runtime, Message)} == {
        (await rows(runtime, Ticket))[0].id
    }


async def test_the_twilio_sender_builds_the_messages_api_request() -> None:
    seen: list[httpx.Request] = []

    def twilio(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(201, json={"sid": "SMout1", "status": "queued"})

    account = sms.TwilioAccount.model_validate(ACCOUNTS[0])
    async with httpx.AsyncClient(transport=httpx.MockTransport(twilio)) as client:
        sent = await sms.TwilioSender(account, client).send(
            Reply(
                ticket_reference="QN-2026-000001",
                channel="sms",
                account="main",
                to=Sender(handle="+97333445566", phone="+97333445566"),
                text="شكراً لتواصلكم، رقم بلاغكم QN-2026-000001",
            )
        )
    [request] = seen
    assert request.url.path.endswith("/Accounts/AC0123456789abcdef0123456789abcdef/Messages.json")
    form = dict(parse_qsl(request.content.decode()))
    assert form == {
        "To": "+97333445566",
        "From": "+97316001234",
        "Body": "شكراً لتواصلكم، رقم بلاغكم QN-2026-000001",
    }
    assert request.headers["Authorization"].startswith("Basic ")
    assert sent.external_id == "SMout1" and sent.metadata["encoding"] == "ucs2"
