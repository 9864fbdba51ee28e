"""qanat-whatsapp against qanat's contract kit and recorded Cloud API payloads."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any, ClassVar

import httpx
from qanat_whatsapp import SPEC

from qanat.ingest.base import WebhookRequest, WebhookResponse
from qanat.model import Reply, Sender
from qanat.testing import ConnectorContractTests

FIXTURES = Path(__file__).parent / "fixtures"
SECRET = "app-secret"


def signed(name: str, secret: str = SECRET) -> WebhookRequest:
    body = (FIXTURES / name).read_bytes()
    signature = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    headers = {"content-type": "application/json", "x-hub-signature-256": signature}
    return WebhookRequest("POST", "https://q/webhooks/whatsapp/ministry", "", headers, {}, body)


class TestWhatsAppContract(ConnectorContractTests):
    spec = SPEC
    account: ClassVar[dict[str, Any]] = {
        "account": "ministry",
        "phone_number_id": "106540352242922",
        "access_token": "EAAG-test",
        "app_secret": SECRET,
        "verify_token": "verify-me",
    }

    def good_delivery(self) -> WebhookRequest:
        return signed("text_message_arabic.json")

    def forged_delivery(self) -> WebhookRequest:
        return signed("text_message_arabic.json", secret="guess")

    def unknown_event(self) -> WebhookRequest:
        return signed("status_delivered.json")

    def malformed_delivery(self) -> WebhookRequest:
        return signed("message_missing_timestamp.json")

    def source(self) -> httpx.MockTransport:
        answer = json.loads((FIXTURES / "send_response.json").read_text())
        return httpx.MockTransport(lambda _request: httpx.Response(200, json=answer))

    def reply(self) -> Reply:
        return Reply(
            ticket_reference="QN-2026-000001",
            channel="whatsapp",
            account="ministry",
            to=Sender(handle="97333667788", phone="+97333667788"),
            text="تم استلام بلاغكم برقم QN-2026-000001",
            in_reply_to=["wamid.HBgLOTczMzM2Njc3ODgVAgASGBQzQUJDMTIzNDU2Nzg5MEFCQ0RFRgA="],
        )


def test_an_arabic_text_message_becomes_an_inbound() -> None:
    contract = TestWhatsAppContract()
    answer, intake = contract.deliver(signed("text_message_arabic.json"))
    assert isinstance(answer, WebhookResponse) and answer.body == b"EVENT_RECEIVED"
    [(inbound, state, _reason)] = intake.messages.values()
    assert state == "received" and inbound.sender.name == "أم علي"
    assert inbound.sender.phone == "+97333667788"
    assert inbound.text.startswith("السلام عليكم") and "٧٠٤" in inbound.text
    assert inbound.received_at.isoformat() == "2025-11-02T08:00:00+00:00"


def test_a_location_keeps_its_coordinates() -> None:
    _answer, intake = TestWhatsAppContract().deliver(signed("location_message.json"))
    [(inbound, _state, _reason)] = intake.messages.values()
    assert inbound.location is not None
    assert (inbound.location.lat, inbound.location.lon) == (26.2172, 50.5857)


def test_the_verification_handshake_echoes_the_challenge() -> None:
    connector, *_ = TestWhatsAppContract().build()
    query = {
        "hub.mode": "subscribe",
        "hub.verify_token": "verify-me",
        "hub.challenge": "1158201444",
    }
    request = WebhookRequest("GET", "https://q/webhooks/whatsapp/ministry", "", {}, query, b"")
    assert asyncio.run(connector.receive(request)).body == b"1158201444"


def test_the_reply_is_a_cloud_api_message_in_context() -> None:
    seen: list[httpx.Request] = []
    answer = json.loads((FIXTURES / "send_response.json").read_text())

    class Recording(TestWhatsAppContract):
        def source(self) -> httpx.MockTransport:
            def handle(request: httpx.Request) -> httpx.Response:
                seen.append(request)
                return httpx.Response(200, json=answer)

            return httpx.MockTransport(handle)

    contract = Recording()
    connector, *_ = contract.build()
    sent = asyncio.run(connector.send(contract.reply()))
    [request] = seen
    body = json.loads(request.content)
    assert request.url.path == "/v21.0/106540352242922/messages"
    assert request.headers["authorization"] == "Bearer EAAG-test"
    assert body["to"] == "97333667788" and body["context"]["message_id"].startswith("wamid.")
    assert sent.external_id == answer["messages"][0]["id"]


def test_installing_the_package_registers_the_connector() -> None:
    names = {point.name: point.value for point in entry_points(group="qanat.connectors")}
    assert names.get("whatsapp") == "qanat_whatsapp:SPEC"
