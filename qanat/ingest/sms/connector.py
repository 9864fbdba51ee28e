"""The SMS connector: Twilio or a generic gateway per account, webhooks in, replies out.

Mounted at ``/webhooks/sms/{account}`` (messages) and ``/webhooks/sms/{account}/status``
(Twilio delivery receipts). Forged requests are refused before anything is stored; 2xx
is answered only after the raw message is committed.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Sequence
from datetime import datetime
from typing import Annotated, Any
from urllib.parse import parse_qs

from pydantic import Field, RootModel

from qanat import __version__
from qanat.errors import BadPayload, ForgedRequest
from qanat.ingest.base import (
    CONTRACT_VERSION,
    ConnectorContext,
    ConnectorSpec,
    Pulled,
    WebhookRequest,
    WebhookResponse,
)
from qanat.ingest.jsonbody import load_json
from qanat.ingest.sms import gateways as sms
from qanat.model import Inbound, Reply, SentReply

#: Twilio expects TwiML back; an empty response sends no automatic answer.
EMPTY_TWIML = b'<?xml version="1.0" encoding="UTF-8"?><Response></Response>'


class SmsAccountConfig(
    RootModel[Annotated[sms.TwilioAccount | sms.GatewayAccount, Field(discriminator="provider")]]
):
    """One SMS account: ``provider: twilio`` or ``provider: generic``."""


def _form(body: bytes) -> dict[str, list[str]]:
    try:
        return parse_qs(body.decode("utf-8"), keep_blank_values=True, strict_parsing=bool(body))
    except (UnicodeDecodeError, ValueError) as exc:
        raise BadPayload(f"not a form-encoded body ({type(exc).__name__})") from exc


class SmsConnector:
    """One SMS account (see :mod:`qanat.ingest.sms.gateways` for the formats)."""

    def __init__(self, context: ConnectorContext) -> None:
        assert isinstance(context.config, SmsAccountConfig)
        self.context = context
        self.config = context.config.root
        self.channel = context.channel

    async def receive(self, request: WebhookRequest) -> WebhookResponse:
        """A message (or, for Twilio, a delivery receipt at ``…/status``)."""
        if isinstance(self.config, sms.TwilioAccount):
            params = self._twilio_checked(request)
            if request.path == "status":
                return await self._receipt(params)
            inbound = sms.inbound_from_twilio(
                params,
                account=self.context.account,
                raw=request.body,
                received_at=self.context.clock(),
            )
            await self.context.intake.save(inbound)
            answer = WebhookResponse(body=EMPTY_TWIML, content_type="text/xml")
        else:
            answer = await self._gateway(request, self.config)
        await self.context.health.success(self.channel, self.context.account)
        return answer

    def _twilio_checked(self, request: WebhookRequest) -> dict[str, list[str]]:
        assert isinstance(self.config, sms.TwilioAccount)
        params = _form(request.body)
        pairs = [(key, value) for key, values in params.items() for value in values]
        url = request.url
        if self.config.public_url:  # behind a proxy, Twilio signed the public URL
            base = self.config.public_url.rstrip("/")
            url = base + url[url.index("/webhooks/") :]
        signature = request.header("X-Twilio-Signature")
        if not sms.twilio_signature_ok(self.config.auth_token, url, pairs, signature):
            raise ForgedRequest("X-Twilio-Signature does not match this request")
        return params

    async def _receipt(self, params: dict[str, list[str]]) -> WebhookResponse:
        sid = params.get("MessageSid", [""])[0]
        status = params.get("MessageStatus", [""])[0]
        if not sid or not status:
            raise BadPayload("a status callback needs MessageSid and MessageStatus")
        error = params.get("ErrorCode", [None])[0]
        await self.context.intake.record_delivery(
            self.channel, self.context.account, sid, status, error
        )
        return WebhookResponse(status=204)

    async def _gateway(
        self, request: WebhookRequest, config: sms.GatewayAccount
    ) -> WebhookResponse:
        provided = request.header("X-Qanat-Signature") or request.query.get("secret")
        if not sms.gateway_signature_ok(config, request.body, provided):
            raise ForgedRequest("the gateway's secret or signature does not match")
        inbound, part = sms.inbound_from_gateway(
            self._gateway_fields(request),
            account=config,
            raw=request.body,
            received_at=self.context.clock(),
        )
        if part is None:
            await self.context.intake.save(inbound)
        else:
            await self._save_part(inbound, part)
        if config.flavour == "jasmin":
            return WebhookResponse(body=b"ACK/Jasmin")
        return WebhookResponse(body=b'{"ok":true}', content_type="application/json")

    @staticmethod
    def _gateway_fields(request: WebhookRequest) -> dict[str, Any]:
        if (request.header("content-type") or "").startswith("application/json"):
            fields = load_json(request.body)
            if not isinstance(fields, dict):
                raise BadPayload("the JSON body must be an object")
            return fields
        return {key: values[0] for key, values in _form(request.body).items()}

    async def _save_part(self, inbound: Inbound, part: sms.SmsPart) -> None:
        sender = inbound.sender.handle
        held = inbound.model_copy(update={"external_id": sms.part_external_id(sender, part)})
        reason = f"part {part.sequence}/{part.total} of SMS {part.reference}"
        await self.context.intake.hold(held, reason)
        wanted = [
            sms.part_external_id(sender, part.model_copy(update={"sequence": n}))
            for n in range(1, part.total + 1)
        ]
        texts = await self.context.intake.stored_texts(self.channel, inbound.account, wanted)
        whole = sms.reassemble(
            {int(key.rsplit(":", 1)[1]): text for key, text in texts.items()}, part.total
        )
        if whole is not None:
            await self.context.intake.save(
                inbound.model_copy(
                    update={
                        "external_id": sms.whole_external_id(sender, part),
                        "text": whole,
                        "raw": json.dumps({"parts": wanted}).encode(),
                    }
                )
            )

    async def poll_once(self) -> None:
        """Nothing to poll: messages arrive by webhook."""
        return None

    async def send(self, reply: Reply) -> SentReply:
        """Send a reply through Twilio's Messages API or the gateway's URL template."""
        if isinstance(self.config, sms.TwilioAccount):
            return await sms.TwilioSender(self.config, self.context.http).send(reply)
        return await sms.GatewaySender(self.config, self.context.http).send(reply)

    def pull(self, cursor: dict[str, Any] | None) -> AsyncIterator[Pulled]:
        """SMS arrives by webhook only."""
        raise NotImplementedError("SMS gateways push; there is nothing to poll")

    async def list_since(self, since: datetime) -> list[str]:
        """Not offered: the gateways qanat supports have no listing qanat uses yet."""
        raise NotImplementedError("SMS gateways are not listed")

    def fetch(self, external_ids: Sequence[str]) -> AsyncIterator[Inbound]:
        """Not offered (see ``list_since``)."""
        raise NotImplementedError("SMS gateways are not listed")


SPEC = ConnectorSpec(
    name="sms",
    version=__version__,
    contract_version=CONTRACT_VERSION,
    capabilities=frozenset({"receive", "send", "attachments", "webhook"}),
    config_model=SmsAccountConfig,
    build=SmsConnector,
    description="SMS through Twilio or a generic HTTP gateway (Kannel, Jasmin)",
    secret_fields=frozenset({"auth_token", "secret"}),
)
