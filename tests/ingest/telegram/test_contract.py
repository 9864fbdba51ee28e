"""The Telegram connector passes the connector contract kit."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, ClassVar

import httpx

from qanat.ingest.base import WebhookRequest
from qanat.ingest.telegram.connector import SECRET_HEADER, SPEC
from qanat.model import Reply, Sender
from qanat.testing import ConnectorContractTests

FIXTURES = Path(__file__).parents[2] / "fixtures" / "telegram"
TOKEN = "7012345678:AAContractKitToken"
SECRET = "contract-secret"


def delivery(name: str, secret: str = SECRET) -> WebhookRequest:
    headers = {"content-type": "application/json", SECRET_HEADER.lower(): secret}
    body = (FIXTURES / name).read_bytes()
    return WebhookRequest("POST", "https://q/webhooks/telegram/bot", "", headers, {}, body)


def bot_api(request: httpx.Request) -> httpx.Response:
    """The Bot API as the kit's HTTP client sees it: two updates to poll, replies sent."""
    method = request.url.path.rsplit("/", 1)[-1].lower()
    if method == "getupdates":
        result: Any = [
            json.loads((FIXTURES / name).read_text())
            for name in ("text_arabic.json", "location.json")
        ]
    elif method == "sendmessage":
        result = {
            "message_id": 900,
            "from": {"id": 7012345678, "is_bot": True, "first_name": "وزارة الأشغال"},
            "chat": {"id": 5123456789, "type": "private"},
            "date": 1793600000,
            "text": "تم",
        }
    else:
        return httpx.Response(
            404, json={"ok": False, "error_code": 404, "description": "Not Found"}
        )
    return httpx.Response(200, json={"ok": True, "result": result})


class TestTelegramContract(ConnectorContractTests):
    spec = SPEC
    account: ClassVar[dict[str, Any]] = {
        "account": "ministry_bot",
        "token": TOKEN,
        "mode": "polling",
        "secret_token": SECRET,
    }

    def good_delivery(self) -> WebhookRequest:
        return delivery("text_arabic.json")

    def forged_delivery(self) -> WebhookRequest:
        return delivery("text_arabic.json", secret="guessed")

    def unknown_event(self) -> WebhookRequest:
        return delivery("unknown_update_type.json")

    def malformed_delivery(self) -> WebhookRequest:
        return delivery("malformed_old_format.json")

    def source(self) -> httpx.MockTransport:
        return httpx.MockTransport(bot_api)

    def reply(self) -> Reply:
        return Reply(
            ticket_reference="QN-2026-000001",
            channel="telegram",
            account="ministry_bot",
            to=Sender(handle="5123456789"),
            text="تم",
            in_reply_to=["5123456789:41"],
        )
