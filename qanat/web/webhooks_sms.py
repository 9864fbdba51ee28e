"""SMS webhooks: Twilio (signed form posts) and generic gateways (shared secret or HMAC).

Forged requests get 403 and nothing is stored; a payload that isn't the gateway's gets
400 with the reason; the store being down gets 503 so the gateway retries; 2xx is
answered only after the raw message is committed.
"""

from __future__ import annotations

import json
import logging
from typing import Any
from urllib.parse import parse_qs

from fastapi import APIRouter, Request, Response

from qanat.errors import BadPayload, ForgedRequest, NotFound
from qanat.ingest import sms
from qanat.runtime import Runtime
from qanat.store import queries
from qanat.store.tables import utcnow
from qanat.web.deps import RuntimeDep

log = logging.getLogger(__name__)
router = APIRouter(prefix="/webhooks/sms", tags=["webhooks"])

#: Twilio expects TwiML back; an empty response sends no automatic answer.
EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response></Response>'
#: Larger bodies are not SMS webhooks.
MAX_BODY = 64 * 1024


async def _body(request: Request) -> bytes:
    body = await request.body()
    if len(body) > MAX_BODY:
        raise BadPayload(f"body of {len(body)} bytes is over the {MAX_BODY}-byte limit")
    return body


def _account(runtime: Runtime, name: str) -> sms.TwilioAccount | sms.GatewayAccount:
    account = sms.sms_account(runtime.accounts.get("sms", []), name)
    if account is None:
        raise NotFound(f"no SMS account {name!r}")
    return account


def _form(body: bytes) -> dict[str, list[str]]:
    try:
        return parse_qs(body.decode("utf-8"), keep_blank_values=True, strict_parsing=bool(body))
    except (UnicodeDecodeError, ValueError) as exc:
        raise BadPayload(f"not a form-encoded body: {exc}") from exc


def _twilio_checked(
    request: Request, account: sms.TwilioAccount, body: bytes
) -> dict[str, list[str]]:
    params = _form(body)
    pairs = [(key, value) for key, values in params.items() for value in values]
    url = str(request.url)
    if account.public_url:
        query = f"?{request.url.query}" if request.url.query else ""
        url = account.public_url.rstrip("/") + request.url.path + query
    if not sms.twilio_signature_ok(
        account.auth_token, url, pairs, request.headers.get("X-Twilio-Signature")
    ):
        raise ForgedRequest("X-Twilio-Signature does not match this request")
    return params


@router.post("/twilio/{account}")
async def twilio_message(account: str, request: Request, runtime: RuntimeDep) -> Response:
    """A Twilio incoming-message webhook."""
    config = _account(runtime, account)
    if not isinstance(config, sms.TwilioAccount):
        raise NotFound(f"SMS account {account!r} is not a Twilio account")
    body = await _body(request)
    params = _twilio_checked(request, config, body)
    inbound = sms.inbound_from_twilio(params, account=account, raw=body, received_at=utcnow())
    await runtime.intake.save(inbound)
    await runtime.health.success(sms.CHANNEL, account)
    return Response(EMPTY_TWIML, media_type="text/xml")


@router.post("/twilio/{account}/status")
async def twilio_status(account: str, request: Request, runtime: RuntimeDep) -> Response:
    """A Twilio delivery receipt for one of our replies: recorded on the reply's message."""
    config = _account(runtime, account)
    if not isinstance(config, sms.TwilioAccount):
        raise NotFound(f"SMS account {account!r} is not a Twilio account")
    params = _twilio_checked(request, config, await _body(request))
    sid, status = params.get("MessageSid", [""])[0], params.get("MessageStatus", [""])[0]
    if not sid or not status:
        raise BadPayload("a status callback needs MessageSid and MessageStatus")
    await _record_delivery(runtime, account, sid, status, params.get("ErrorCode", [None])[0])
    return Response(status_code=204)


async def _record_delivery(
    runtime: Runtime, account: str, external_id: str, status: str, error: str | None
) -> None:
    async with runtime.db.writing() as session:
        found = await queries.messages_by_external_ids(
            session, channel=sms.CHANNEL, account=account, external_ids=[external_id]
        )
        if not found:
            log.info("delivery receipt for an unknown message", extra={"sid": external_id})
            return
        message = found[0]
        message.channel_metadata = {**message.channel_metadata, "delivery": status}
        await queries.add_event(
            session,
            actor="sms",
            type="delivery_status",
            ticket_id=message.ticket_id,
            message_id=message.id,
            data={"status": status, "error_code": error},
        )


def _gateway_fields(request: Request, body: bytes) -> dict[str, Any]:
    if request.headers.get("content-type", "").startswith("application/json"):
        try:
            fields = json.loads(body)
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise BadPayload(f"not JSON: {exc}") from exc
        if not isinstance(fields, dict):
            raise BadPayload("the JSON body must be an object")
        return fields
    return {key: values[0] for key, values in _form(body).items()}


@router.post("/gateway/{account}")
async def gateway_message(account: str, request: Request, runtime: RuntimeDep) -> Response:
    """A generic gateway's incoming message (Kannel / Jasmin style, form or JSON)."""
    config = _account(runtime, account)
    if not isinstance(config, sms.GatewayAccount):
        raise NotFound(f"SMS account {account!r} is not a generic gateway")
    body = await _body(request)
    provided = request.headers.get("X-Qanat-Signature") or request.query_params.get("secret")
    if not sms.gateway_signature_ok(config, body, provided):
        raise ForgedRequest("the gateway's secret or signature does not match")
    inbound, part = sms.inbound_from_gateway(
        _gateway_fields(request, body), account=config, raw=body, received_at=utcnow()
    )
    if part is None:
        await runtime.intake.save(inbound)
    else:
        await _save_part(runtime, inbound, part)
    await runtime.health.success(sms.CHANNEL, account)
    if config.flavour == "jasmin":
        return Response("ACK/Jasmin", media_type="text/plain")
    return Response('{"ok":true}', media_type="application/json")


async def _save_part(runtime: Runtime, inbound: Any, part: sms.SmsPart) -> None:
    sender = inbound.sender.handle
    held = inbound.model_copy(update={"external_id": sms.part_external_id(sender, part)})
    await runtime.intake.hold(held, f"part {part.sequence}/{part.total} of SMS {part.reference}")
    wanted = [
        sms.part_external_id(sender, part.model_copy(update={"sequence": n}))
        for n in range(1, part.total + 1)
    ]
    async with runtime.db.session() as session:
        stored = await queries.messages_by_external_ids(
            session, channel=sms.CHANNEL, account=inbound.account, external_ids=wanted
        )
    texts = {int(m.external_id.rsplit(":", 1)[1]): m.text for m in stored}
    whole = sms.reassemble(texts, part.total)
    if whole is not None:
        record = {"parts": wanted}
        await runtime.intake.save(
            inbound.model_copy(
                update={
                    "external_id": sms.whole_external_id(sender, part),
                    "text": whole,
                    "raw": json.dumps(record).encode(),
                }
            )
        )
