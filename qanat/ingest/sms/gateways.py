"""SMS: Twilio and generic HTTP gateways (Kannel / Jasmin style) in, replies out.

Pure parts here — signatures, payload mapping, segment counting, part reassembly —
and the senders; the webhook routes live in ``qanat.web.webhooks_sms``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, Literal
from urllib.parse import quote

import httpx
from pydantic import BaseModel, Field

from qanat.errors import BadPayload, ChannelUnavailable
from qanat.model import Attachment, Inbound, Reply, Sender, SentReply

CHANNEL = "sms"

# GSM 03.38 basic character set; the extension table's characters take two septets.
GSM7_BASIC = set(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM7_EXTENSION = set("^{}\\[~]|€\f")


class TwilioAccount(BaseModel):
    """A Twilio number (or messaging service) the body receives and replies on."""

    account: str
    provider: Literal["twilio"] = "twilio"
    account_sid: str
    auth_token: str = Field(repr=False)
    from_number: str | None = None
    messaging_service_sid: str | None = None
    public_url: str | None = Field(
        default=None,
        description="qanat's base URL as Twilio calls it (behind a proxy it differs from "
        "what qanat sees, and signatures cover the full URL).",
    )
    api_base: str = "https://api.twilio.com"


class GatewayAccount(BaseModel):
    """A generic HTTP gateway (Kannel, Jasmin, a local aggregator)."""

    account: str
    provider: Literal["generic"] = "generic"
    secret: str = Field(repr=False)
    auth: Literal["shared_secret", "hmac_sha256"] = "shared_secret"
    flavour: Literal["jasmin", "kannel", "json"] = "json"
    fields: dict[str, str] = Field(
        default_factory=lambda: {"from": "from", "to": "to", "text": "content", "id": "id"},
        description="Our name → the gateway's field name (from, to, text, id, and for "
        "concatenated parts: part_ref, part_total, part_seq).",
    )
    send_url: str | None = Field(
        default=None, description="URL template with {to}, {from}, {text}; GET is used."
    )
    from_number: str | None = None


def twilio_signature(auth_token: str, url: str, params: Sequence[tuple[str, str]]) -> str:
    """``X-Twilio-Signature``: HMAC-SHA1 over the URL and the sorted POST parameters."""
    payload = url + "".join(key + value for key, value in sorted(params))
    digest = hmac.new(auth_token.encode(), payload.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


def twilio_signature_ok(
    auth_token: str, url: str, params: Sequence[tuple[str, str]], signature: str | None
) -> bool:
    """True when ``signature`` is Twilio's for this request (constant-time compare)."""
    if not signature:
        return False
    expected = twilio_signature(auth_token, url, params)
    return hmac.compare_digest(expected.encode(), signature.encode())


def gateway_signature_ok(account: GatewayAccount, body: bytes, provided: str | None) -> bool:
    """Check a generic gateway's shared secret, or its HMAC-SHA256 over the raw body."""
    if not provided:
        return False
    if account.auth == "shared_secret":
        expected = account.secret
    else:
        expected = "sha256=" + hmac.new(account.secret.encode(), body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected.encode(), provided.encode())


def _one(params: Mapping[str, Sequence[str]], key: str) -> str | None:
    values = params.get(key)
    return values[0] if values else None


#: Twilio attaches at most 10 media to a message; a larger count is not believed.
TWILIO_MAX_MEDIA = 10


def media_count(value: str | None, notes: list[str]) -> int:
    """``NumMedia`` as a count of at most :data:`TWILIO_MAX_MEDIA` (a bad value is 0,
    noted): the loop over media follows this number, so it is never the sender's to set."""
    if not value:
        return 0
    if not value.isdigit():
        notes.append("NumMedia is not a number: media ignored")
        return 0
    if int(value) > TWILIO_MAX_MEDIA:
        notes.append(f"NumMedia {int(value)} is over Twilio's {TWILIO_MAX_MEDIA}: capped")
        return TWILIO_MAX_MEDIA
    return int(value)


def inbound_from_twilio(
    params: Mapping[str, Sequence[str]], *, account: str, raw: bytes, received_at: datetime
) -> Inbound:
    """Map a Twilio incoming-message webhook (form fields) to an :class:`Inbound`.

    Odd metadata (a NumMedia that is not a number) is noted, never a refusal: the
    message is the citizen's whatever its metadata says.
    """
    sid, sender = _one(params, "MessageSid") or _one(params, "SmsSid"), _one(params, "From")
    if not sid or not sender:
        raise BadPayload("a Twilio message needs MessageSid and From")
    notes: list[str] = []
    media = []
    for index in range(media_count(_one(params, "NumMedia"), notes)):
        url = _one(params, f"MediaUrl{index}")
        if url:
            media.append(
                Attachment(
                    name=url.rsplit("/", 1)[-1],
                    content_type=_one(params, f"MediaContentType{index}")
                    or "application/octet-stream",
                    size=0,
                    note=f"remote media at {url}, not fetched",
                )
            )
    metadata = {
        key: _one(params, key)
        for key in ("To", "NumSegments", "FromCountry", "FromCity", "AccountSid", "SmsStatus")
        if _one(params, key) is not None
    }
    if notes:
        metadata["notes"] = "; ".join(notes)
    return Inbound(
        channel=CHANNEL,
        account=account,
        external_id=sid,
        received_at=received_at,
        sender=Sender(handle=sender, phone=sender),
        text=_one(params, "Body") or "",
        attachments=media,
        metadata=metadata,
        raw=raw,
    )


class SmsPart(BaseModel):
    """One part of a concatenated SMS as a gateway delivered it."""

    reference: str
    total: int = Field(ge=1, le=255)
    sequence: int = Field(ge=1, le=255)


def inbound_from_gateway(
    fields: Mapping[str, Any], *, account: GatewayAccount, raw: bytes, received_at: datetime
) -> tuple[Inbound, SmsPart | None]:
    """Map a generic gateway's form or JSON fields to an :class:`Inbound` (and its part)."""
    names = account.fields

    def field(ours: str) -> str | None:
        value = fields.get(names.get(ours, ours))
        return None if value is None else str(value)

    sender, text, message_id = field("from"), field("text"), field("id")
    if not sender or text is None or not message_id:
        raise BadPayload(
            f"the gateway payload needs {names.get('from')}, {names.get('text')} and "
            f"{names.get('id')}"
        )
    metadata: dict[str, Any] = {"to": field("to")} if field("to") else {}
    part, problem = part_of(field("part_ref"), field("part_total"), field("part_seq"))
    if problem is not None:  # kept as a message of its own, with the reason
        metadata["notes"] = f"{problem}: kept as a whole message"
    inbound = Inbound(
        channel=CHANNEL,
        account=account.account,
        external_id=message_id,
        received_at=received_at,
        sender=Sender(handle=sender, phone=sender),
        text=text,
        metadata=metadata,
        raw=raw,
    )
    return inbound, part


def part_of(
    reference: str | None, total: str | None, sequence: str | None
) -> tuple[SmsPart | None, str | None]:
    """The part a gateway says a message is (None for a whole message), and why the
    part information was not usable when it was not (``seq`` 0, beyond ``total``, …)."""
    if not reference or not total:
        return None, None
    try:
        part = SmsPart(reference=reference, total=int(total), sequence=int(sequence or 1))
    except ValueError:  # not numbers, or out of range (pydantic's error is a ValueError)
        return None, f"part {sequence!s:.10}/{total!s:.10} is not a valid part number"
    if part.total == 1:
        return None, None
    if part.sequence > part.total:
        return None, f"part {part.sequence} of {part.total} is beyond the total"
    return part, None


def part_external_id(sender: str, part: SmsPart) -> str:
    """The external id a part is held under until its message is complete."""
    return f"part:{sender}:{part.reference}:{part.total}:{part.sequence}"


def whole_external_id(sender: str, part: SmsPart) -> str:
    """The external id of the reassembled message."""
    return f"concat:{sender}:{part.reference}:{part.total}"


def reassemble(parts: Mapping[int, str], total: int) -> str | None:
    """The whole text once every part 1..total is present, else None."""
    if set(parts) != set(range(1, total + 1)):
        return None
    return "".join(parts[n] for n in range(1, total + 1))


def sms_segments(text: str) -> tuple[str, int]:
    """The encoding (``gsm7`` / ``ucs2``) and number of SMS segments ``text`` needs.

    GSM-7: 160 septets alone, 153 per part when concatenated (extension characters take
    two). UCS-2 (any Arabic letter): 70 UTF-16 units alone, 67 per part.
    """
    if all(ch in GSM7_BASIC or ch in GSM7_EXTENSION for ch in text):
        length = sum(2 if ch in GSM7_EXTENSION else 1 for ch in text)
        single, multi, encoding = 160, 153, "gsm7"
    else:
        length = len(text.encode("utf-16-le")) // 2
        single, multi, encoding = 70, 67, "ucs2"
    if length <= single:
        return encoding, 1
    return encoding, -(-length // multi)


class TwilioSender:
    """Sends replies through Twilio's Messages API (``POST …/Messages.json``)."""

    def __init__(self, account: TwilioAccount, http: httpx.AsyncClient) -> None:
        self._account = account
        self._http = http

    async def send(self, reply: Reply) -> SentReply:
        """Send ``reply`` to the citizen's number; Twilio splits it into segments."""
        account = self._account
        form = {"To": reply.to.phone or reply.to.handle, "Body": reply.text}
        if account.messaging_service_sid:
            form["MessagingServiceSid"] = account.messaging_service_sid
        elif account.from_number:
            form["From"] = account.from_number
        url = f"{account.api_base}/2010-04-01/Accounts/{account.account_sid}/Messages.json"
        try:
            response = await self._http.post(
                url, data=form, auth=(account.account_sid, account.auth_token)
            )
        except httpx.HTTPError as exc:
            raise ChannelUnavailable(f"Twilio unreachable: {exc}") from exc
        if response.status_code >= 500 or response.status_code == 429:
            raise ChannelUnavailable(f"Twilio answered {response.status_code}")
        if response.status_code >= 400:
            raise BadPayload(f"Twilio refused the reply: {response.text[:300]}")
        body = response.json()
        encoding, segments = sms_segments(reply.text)
        return SentReply(
            external_id=body["sid"],
            raw=response.content,
            metadata={"encoding": encoding, "segments": segments, "status": body.get("status")},
        )


class GatewaySender:
    """Sends replies through a generic gateway's URL template (Kannel sendsms style)."""

    def __init__(self, account: GatewayAccount, http: httpx.AsyncClient) -> None:
        if not account.send_url:
            raise ValueError(f"sms account {account.account!r} has no send_url")
        self._account = account
        self._http = http

    async def send(self, reply: Reply) -> SentReply:
        """Fill the URL template and GET it; the gateway's answer is kept as the raw reply."""
        template = self._account.send_url or ""
        url = template.format(
            to=quote(reply.to.phone or reply.to.handle, safe=""),
            text=quote(reply.text, safe=""),
            **{"from": quote(self._account.from_number or "", safe="")},
        )
        try:
            response = await self._http.get(url)
        except httpx.HTTPError as exc:
            raise ChannelUnavailable(f"gateway unreachable: {exc}") from exc
        if response.status_code >= 400:
            raise ChannelUnavailable(f"gateway answered {response.status_code}")
        encoding, segments = sms_segments(reply.text)
        digest = hashlib.sha256(response.content + reply.text.encode()).hexdigest()[:16]
        return SentReply(
            external_id=f"gw:{digest}",
            raw=response.content,
            metadata={"encoding": encoding, "segments": segments},
        )
