"""The SMS connector passes the connector contract kit, for both account kinds."""

from __future__ import annotations

import hashlib
import hmac
from pathlib import Path
from typing import Any, ClassVar
from urllib.parse import parse_qsl

import httpx

from qanat.ingest.base import WebhookRequest
from qanat.ingest.sms import gateways as sms
from qanat.ingest.sms.connector import SPEC
from qanat.model import Reply, Sender
from qanat.testing import ConnectorContractTests

FIXTURES = Path(__file__).parents[2] / "fixtures" / "sms"
PUBLIC = "https://qanat.example.bh"
FORM = {"content-type": "application/x-www-form-urlencoded"}


def twilio_request(body: bytes, token: str, path: str = "") -> WebhookRequest:
    url = f"{PUBLIC}/webhooks/sms/main" + (f"/{path}" if path else "")
    pairs = parse_qsl(body.decode(), keep_blank_values=True)
    signature = sms.twilio_signature(token, url, pairs)
    return WebhookRequest("POST", url, path, {**FORM, "x-twilio-signature": signature}, {}, body)


def a_reply() -> Reply:
    return Reply(
        ticket_reference="QN-2026-000001",
        channel="sms",
        account="main",
        to=Sender(handle="+97333445566", phone="+97333445566"),
        text="تم استلام بلاغكم",
    )


class TestTwilioAccount(ConnectorContractTests):
    spec = SPEC
    account: ClassVar[dict[str, Any]] = {
        "account": "main",
        "provider": "twilio",
        "account_sid": "AC" + "0" * 32,
        "auth_token": "token-1",
        "from_number": "+97316001234",
        "public_url": PUBLIC,
    }

    def good_delivery(self) -> WebhookRequest:
        return twilio_request((FIXTURES / "twilio_inbound_arabic.form").read_bytes(), "token-1")

    def forged_delivery(self) -> WebhookRequest:
        return twilio_request((FIXTURES / "twilio_inbound_arabic.form").read_bytes(), "guess")

    def malformed_delivery(self) -> WebhookRequest:
        return twilio_request(b"From=%2B97333445566&Body=no+sid", "token-1")

    def source(self) -> httpx.MockTransport:
        return httpx.MockTransport(
            lambda _request: httpx.Response(201, json={"sid": "SMout", "status": "queued"})
        )

    def reply(self) -> Reply:
        return a_reply()


class TestGatewayAccount(ConnectorContractTests):
    spec = SPEC
    account: ClassVar[dict[str, Any]] = {
        "account": "gw",
        "provider": "generic",
        "secret": "k",
        "auth": "hmac_sha256",
        "send_url": "http://gateway.test/send?to={to}&text={text}",
    }

    def _signed(self, body: bytes, key: bytes = b"k") -> WebhookRequest:
        signature = "sha256=" + hmac.new(key, body, hashlib.sha256).hexdigest()
        headers = {"content-type": "application/json", "x-qanat-signature": signature}
        return WebhookRequest("POST", "http://q/webhooks/sms/gw", "", headers, {}, body)

    def good_delivery(self) -> WebhookRequest:
        return self._signed(b'{"id": "g1", "from": "+97333221100", "content": "hello"}')

    def forged_delivery(self) -> WebhookRequest:
        return self._signed(b'{"id": "g1", "from": "+97333221100", "content": "x"}', b"guess")

    def malformed_delivery(self) -> WebhookRequest:
        return self._signed(b'{"id": "g1", "from": ')

    def source(self) -> httpx.MockTransport:
        return httpx.MockTransport(lambda _request: httpx.Response(200, text="0: Accepted"))

    def reply(self) -> Reply:
        return a_reply().model_copy(update={"account": "gw"})
