"""WhatsApp Business (Cloud API) for qanat: webhooks in, replies out.

Meta calls the webhook twice over: a GET to verify it (``hub.challenge``) and POSTs
signed with ``X-Hub-Signature-256`` (HMAC-SHA256 of the body with the app secret)
carrying ``entry[].changes[].value`` with ``messages`` (what citizens send) or
``statuses`` (delivery receipts of our replies).
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import AsyncIterator, Sequence
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, Field

from qanat.errors import BadPayload, ChannelUnavailable, ForgedRequest
from qanat.ingest.base import (
    CONTRACT_VERSION,
    ConnectorContext,
    ConnectorSpec,
    Pulled,
    WebhookRequest,
    WebhookResponse,
)
from qanat.model import Inbound, Location, Reply, Sender, SentReply

__version__ = "0.1.0"
CHANNEL = "whatsapp"


class WhatsAppAccount(BaseModel):
    """One WhatsApp Business phone number."""

    account: str
    phone_number_id: str
    access_token: str = Field(repr=False)
    app_secret: str = Field(repr=False)
    verify_token: str = Field(repr=False)
    api_base: str = "https://graph.facebook.com/v21.0"


def signature_ok(app_secret: str, body: bytes, header: str | None) -> bool:
    """Check ``X-Hub-Signature-256: sha256=<hex>`` in constant time."""
    if not header:
        return False
    expected = "sha256=" + hmac.new(app_secret.encode(), body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected.encode(), header.encode())


def _text_of(message: dict[str, Any]) -> str:
    kind = message.get("type")
    if kind == "text":
        return str(message["text"]["body"])
    if kind in ("image", "document", "video", "audio"):
        return str(message.get(kind, {}).get("caption", ""))
    if kind == "location":
        place = message["location"]
        return " ".join(str(place.get(k, "")) for k in ("name", "address")).strip()
    return ""


def inbound_of(
    message: dict[str, Any], value: dict[str, Any], *, account: str, raw: bytes
) -> Inbound:
    """One entry of ``value.messages`` as an :class:`Inbound` (KeyError if malformed)."""
    names = {c["wa_id"]: c.get("profile", {}).get("name") for c in value.get("contacts", [])}
    sender = message["from"]
    location = None
    if message.get("type") == "location":
        place = message["location"]
        location = Location(
            lat=place["latitude"], lon=place["longitude"], address=place.get("address")
        )
    replied = message.get("context", {}).get("id")
    return Inbound(
        channel=CHANNEL,
        account=account,
        external_id=message["id"],
        received_at=datetime.fromtimestamp(int(message["timestamp"]), UTC),
        sender=Sender(handle=sender, name=names.get(sender), phone="+" + sender.lstrip("+")),
        text=_text_of(message),
        location=location,
        in_reply_to=[replied] if replied else [],
        metadata={
            "type": message.get("type"),
            "phone_number_id": value.get("metadata", {}).get("phone_number_id"),
        },
        raw=raw,
    )


class WhatsAppConnector:
    """One WhatsApp Business number."""

    def __init__(self, context: ConnectorContext) -> None:
        assert isinstance(context.config, WhatsAppAccount)
        self.context = context
        self.config: WhatsAppAccount = context.config

    async def receive(self, request: WebhookRequest) -> WebhookResponse:
        """Verification GETs, and signed POSTs of messages and statuses."""
        if request.method == "GET":
            return self._verify(request)
        if not signature_ok(
            self.config.app_secret, request.body, request.header("X-Hub-Signature-256")
        ):
            raise ForgedRequest("X-Hub-Signature-256 does not match the body")
        try:
            payload = json.loads(request.body)
            changes = [c["value"] for e in payload["entry"] for c in e["changes"]]
        except (ValueError, KeyError, TypeError) as exc:
            raise BadPayload(f"not a WhatsApp webhook payload: {exc}") from exc
        for value in changes:
            for message in value.get("messages", []):
                await self._save(message, value, request.body)
            for status in value.get("statuses", []):
                await self.context.intake.record_delivery(
                    CHANNEL,
                    self.context.account,
                    status.get("id", ""),
                    status.get("status", "unknown"),
                    None,
                )
        await self.context.health.success(CHANNEL, self.context.account)
        return WebhookResponse(status=200, body=b"EVENT_RECEIVED")

    async def _save(self, message: dict[str, Any], value: dict[str, Any], raw: bytes) -> None:
        try:
            inbound = inbound_of(message, value, account=self.context.account, raw=raw)
        except (KeyError, ValueError, TypeError) as exc:
            # Keep what we can't read, visibly: a dead letter with the reason.
            fallback = Inbound(
                channel=CHANNEL,
                account=self.context.account,
                external_id=str(message.get("id") or hashlib.sha256(raw).hexdigest()),
                received_at=self.context.clock(),
                sender=Sender(handle=str(message.get("from") or "unknown")),
                text="",
                raw=raw,
            )
            await self.context.intake.dead_letter(fallback, f"malformed message: {exc!r}")
            return
        await self.context.intake.save(inbound)

    def _verify(self, request: WebhookRequest) -> WebhookResponse:
        token = request.query.get("hub.verify_token", "")
        if request.query.get("hub.mode") != "subscribe" or not hmac.compare_digest(
            token.encode(), self.config.verify_token.encode()
        ):
            raise ForgedRequest("wrong hub.verify_token")
        return WebhookResponse(body=request.query.get("hub.challenge", "").encode())

    async def poll_once(self) -> None:
        """Nothing to poll: messages arrive by webhook."""
        return None

    async def send(self, reply: Reply) -> SentReply:
        """Send a text message, as a reply to the citizen's last message when known."""
        body: dict[str, Any] = {
            "messaging_product": "whatsapp",
            "to": (reply.to.phone or reply.to.handle).lstrip("+"),
            "type": "text",
            "text": {"body": reply.text},
        }
        if reply.in_reply_to:
            body["context"] = {"message_id": reply.in_reply_to[-1]}
        response = await self.context.http.post(
            f"{self.config.api_base}/{self.config.phone_number_id}/messages",
            json=body,
            headers={"Authorization": f"Bearer {self.config.access_token}"},
        )
        if response.status_code >= 500 or response.status_code == 429:
            raise ChannelUnavailable(f"WhatsApp answered {response.status_code}")
        if response.status_code >= 400:
            raise BadPayload(f"WhatsApp refused the reply: {response.text[:300]}")
        return SentReply(external_id=response.json()["messages"][0]["id"], raw=response.content)

    def pull(self, cursor: dict[str, Any] | None) -> AsyncIterator[Pulled]:
        """WhatsApp pushes; nothing to poll."""
        raise NotImplementedError

    async def list_since(self, since: datetime) -> list[str]:
        """The Cloud API offers no message listing."""
        raise NotImplementedError

    def fetch(self, external_ids: Sequence[str]) -> AsyncIterator[Inbound]:
        """The Cloud API offers no message listing."""
        raise NotImplementedError


SPEC = ConnectorSpec(
    name=CHANNEL,
    version=__version__,
    contract_version=CONTRACT_VERSION,
    capabilities=frozenset({"receive", "send", "location", "webhook"}),
    config_model=WhatsAppAccount,
    build=WhatsAppConnector,
    description="WhatsApp Business Cloud API (example plugin)",
    secret_fields=frozenset({"access_token", "app_secret", "verify_token"}),
)
