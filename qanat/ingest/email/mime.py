"""Email parsing: the raw bytes of one message in, one :class:`~qanat.model.Inbound` out.

Shared by the SMTP listener and the IMAP poller. Pure (the only clock read is the
last-resort ``received_at``) and never raises on malformed mail: what cannot be read
cleanly is read as well as possible and listed in ``metadata["defects"]``; the raw
bytes are kept exactly as received. Only input that is not email at all (empty) is
refused with :class:`~qanat.errors.BadPayload`.
"""

from __future__ import annotations

import base64
import hashlib
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email import policy
from email.errors import NoBoundaryInMultipartDefect
from email.message import Message
from email.parser import BytesParser, HeaderParser
from pathlib import PurePosixPath
from typing import Any

from qanat.errors import BadPayload
from qanat.ingest.email.auto import auto_reply_reason, bounce_details
from qanat.ingest.email.headers import (
    addresses,
    describe,
    external_id,
    header_text,
    normalize_message_id,
    raw_external_id,
    read_date,
    read_sender,
    repair,
    repaired,
    thread_ids,
    usable_address,
)
from qanat.ingest.email.text import decode_text, html_to_text, sanitize_html, strip_quoted_reply
from qanat.model import Attachment, Inbound, Sender

CHANNEL = "email"

_HEADER_TYPES = frozenset({"text/rfc822-headers", "message/global-headers"})
_MESSAGE_TYPES = frozenset({"message/rfc822", "message/global"}) | _HEADER_TYPES


@dataclass
class _Body:
    """What the walk over a message's parts found."""

    plain: list[str] = field(default_factory=list)
    html: list[str] = field(default_factory=list)
    attachments: list[Attachment] = field(default_factory=list)
    fallbacks: list[dict[str, Any]] = field(default_factory=list)
    delivery_status: Message | None = None
    original_headers: Message | None = None


def parse_email(
    raw: bytes,
    *,
    account: str,
    received_at: datetime | None = None,
    envelope_from: str | None = None,
    attachment_max_bytes: int | None = None,
) -> Inbound:
    """Read one RFC 5322 message into an :class:`Inbound` for the ``email`` channel.

    ``received_at`` is used when the Date header is missing, unreadable or in the
    future; ``envelope_from`` (SMTP MAIL FROM) names the sender when From does not.
    Attachments above ``attachment_max_bytes`` keep name, size and hash but not content.
    """
    if not raw.strip():
        raise BadPayload("not an email: the message is empty")
    try:
        return _read(raw, account, received_at, envelope_from, attachment_max_bytes)
    except Exception as exc:  # a parser bug must not lose the message: keep it, flagged
        return _unreadable(raw, account, received_at, envelope_from, exc)


def _read(
    raw: bytes,
    account: str,
    received_at: datetime | None,
    envelope_from: str | None,
    max_bytes: int | None,
) -> Inbound:
    message, defects = _parse(raw)
    body = _Body()
    _collect(message, body, max_bytes, defects)
    subject = header_text(message, "Subject", defects)
    full_text, source = _full_text(body)
    metadata = _metadata(message, defects, full_text, source, received_at)
    reason = auto_reply_reason(message, subject, defects)
    if reason:
        metadata.update(auto_reply=True, auto_reply_reason=reason)
    bounce = bounce_details(message, body.delivery_status, body.original_headers)
    if bounce:
        metadata["bounce"] = bounce
    if body.fallbacks:
        metadata["charset_fallback"] = body.fallbacks
    sender = read_sender(message, envelope_from, defects)
    date = read_date(metadata["date_header"], received_at, defects)
    threads = thread_ids(message, defects)
    if bounce and bounce["original_message_id"]:
        threads = list(dict.fromkeys([bounce["original_message_id"], *threads]))
    metadata["defects"] = defects
    return Inbound(
        channel=CHANNEL,
        account=account,
        external_id=external_id(metadata["message_id"], raw),
        received_at=date,
        sender=sender,
        subject=subject,
        text=strip_quoted_reply(full_text) if full_text else "",
        html=sanitize_html("\n".join(body.html)) if body.html else None,
        attachments=body.attachments,
        in_reply_to=threads,
        metadata=repaired(metadata),
        raw=raw,
    )


def _metadata(
    message: Message,
    defects: list[str],
    full_text: str,
    source: str,
    received_at: datetime | None,
) -> dict[str, Any]:
    return {
        "message_id": normalize_message_id(header_text(message, "Message-ID", defects)),
        "full_text": full_text,
        "text_source": source,
        "to": addresses(message, "To", defects),
        "cc": addresses(message, "Cc", defects),
        "reply_to": next(iter(addresses(message, "Reply-To", defects)), None),
        "date_header": header_text(message, "Date", defects),
        "content_language": header_text(message, "Content-Language", defects),
        "delivered_at": received_at.isoformat() if received_at else None,
        "auto_reply": False,
    }


def _unreadable(
    raw: bytes,
    account: str,
    received_at: datetime | None,
    envelope_from: str | None,
    error: Exception,
) -> Inbound:
    text = decode_text(raw, None)[0]
    address = (envelope_from or "").strip("<> ").lower()
    known = usable_address(address)
    sender = Sender(handle=address, email=address) if known else Sender(handle="unknown")
    return Inbound(
        channel=CHANNEL,
        account=account,
        external_id=raw_external_id(raw),
        received_at=received_at or datetime.now(UTC),
        sender=sender,
        text=text,
        metadata={
            "full_text": text,
            "auto_reply": False,
            "defects": [f"parser failed: {type(error).__name__}: {repair(str(error))}"],
        },
        raw=raw,
    )


def _parse(raw: bytes) -> tuple[Message, list[str]]:
    # The parts' own defects are gathered by _collect; here only what a retry hides.
    try:
        message = BytesParser(policy=policy.default).parsebytes(raw)
    except Exception as exc:  # the modern header parser gave up: the legacy one will not
        legacy = BytesParser(policy=policy.compat32).parsebytes(raw)
        return legacy, [f"read with the legacy parser: {type(exc).__name__}: {exc}"]
    if any(isinstance(defect, NoBoundaryInMultipartDefect) for defect in message.defects):
        recovered = _recover_boundary(message, raw)
        if recovered is not None:
            notes = [describe(defect) for defect in message.defects]
            return recovered, [*notes, "boundary recovered from the body"]
    return message, []


def _recover_boundary(message: Message, raw: bytes) -> Message | None:
    # A multipart without its boundary parameter: take the first "--token" line of
    # the body as the boundary (what the sender evidently meant) and parse again.
    body = message.get_payload()
    found = re.search(r"^--([^\s-][^\s]{0,69})\s*$", body if isinstance(body, str) else "", re.M)
    if not found:
        return None
    head, separator, rest = raw.partition(b"\r\n\r\n" if b"\r\n\r\n" in raw else b"\n\n")
    boundary = found[1].encode("ascii", "replace").replace(b'"', b"")
    head = re.sub(
        rb"(?im)^(content-type:[ \t]*multipart/[\w.-]+)",
        lambda match: match[1] + b'; boundary="' + boundary + b'"',
        head,
        count=1,
    )
    try:
        retried = BytesParser(policy=policy.default).parsebytes(head + separator + rest)
    except Exception:
        return None
    return retried if retried.is_multipart() else None


def _collect(part: Message, body: _Body, max_bytes: int | None, defects: list[str]) -> None:
    content_type = part.get_content_type()
    if content_type == "message/delivery-status":
        body.delivery_status = part
    elif content_type in _MESSAGE_TYPES:
        _collect_message(part, body, max_bytes)
    elif part.is_multipart():
        for child in part.get_payload():
            if isinstance(child, Message):
                _collect(child, body, max_bytes, defects)
    elif _is_body_text(part, content_type):
        text = _decode_part(part, body)
        (body.html if content_type == "text/html" else body.plain).append(text)
    else:
        body.attachments.append(_attachment(part, _payload(part), max_bytes))
    defects.extend(describe(defect) for defect in part.defects)


def _is_body_text(part: Message, content_type: str) -> bool:
    if part.get_content_maintype() == "multipart":
        return True  # a multipart we could not split: its body is all we have
    if content_type not in ("text/plain", "text/html"):
        return False
    disposition = part.get_content_disposition()
    return disposition != "attachment" and (disposition == "inline" or not _filename(part))


def _collect_message(part: Message, body: _Body, max_bytes: int | None) -> None:
    inner = part.get_payload()
    if part.get_content_type() in _HEADER_TYPES:
        text = inner if isinstance(inner, str) else ""
        body.original_headers = HeaderParser(policy=policy.default).parsestr(text)
        content = text.encode("utf-8", "surrogateescape")
    else:
        nested = inner[0] if isinstance(inner, list) and inner else None
        body.original_headers = nested if isinstance(nested, Message) else None
        content = _message_bytes(nested) if isinstance(nested, Message) else _payload(part)
    body.attachments.append(_attachment(part, content, max_bytes, default_name="message.eml"))


def _message_bytes(message: Message) -> bytes:
    try:
        return message.as_bytes()
    except Exception:  # a nested message too broken to write back out
        return str(message.get_payload()).encode("utf-8", "surrogateescape")


def _payload(part: Message) -> bytes:
    try:
        payload = part.get_payload(decode=True)
    except Exception:
        payload = None
    try:
        text = part.get_payload()
    except Exception:  # a charset parameter the stdlib chokes on: take the stored text
        text = getattr(part, "_payload", "")
    encoded = text.encode("utf-8", "surrogateescape") if isinstance(text, str) else b""
    if any(type(defect).__name__ == "InvalidBase64LengthDefect" for defect in part.defects):
        return _lenient_base64(encoded)
    return payload if isinstance(payload, bytes) else encoded


def _lenient_base64(encoded: bytes) -> bytes:
    # Damaged base64 (stray characters, cut short): decode what can be decoded rather
    # than show the citizen's words as base64 letters.
    alphabet_only = re.sub(rb"[^A-Za-z0-9+/]", b"", encoded)
    usable = len(alphabet_only) - (len(alphabet_only) % 4 == 1)
    return base64.b64decode(alphabet_only[:usable] + b"=" * (-usable % 4))


def _decode_part(part: Message, body: _Body) -> str:
    try:
        declared = part.get_content_charset()
    except Exception:
        declared = None
    text, codec, fell_back = decode_text(_payload(part), declared)
    if fell_back:
        body.fallbacks.append({"declared": declared, "used": codec})
    return text


def _filename(part: Message) -> str | None:
    try:
        return part.get_filename()
    except Exception:  # the modern parameter parser gave up; try the legacy one
        legacy = Message()
        for name in ("Content-Type", "Content-Disposition"):
            value = next((v for k, v in part.raw_items() if k.lower() == name.lower()), None)
            if value is not None:
                legacy[name] = value
        try:
            return legacy.get_filename()
        except Exception:
            return None


def _attachment(
    part: Message, content: bytes, max_bytes: int | None, default_name: str = "attachment"
) -> Attachment:
    name = _safe_name(_filename(part) or "") or default_name
    digest = hashlib.sha256(content).hexdigest()
    if max_bytes is not None and len(content) > max_bytes:
        note = f"larger than the {max_bytes}-byte limit per file; content not kept"
        return Attachment(
            name=name, content_type=part.get_content_type(), size=len(content),
            sha256=digest, note=note,
        )  # fmt: skip
    return Attachment(
        name=name, content_type=part.get_content_type(), size=len(content),
        sha256=digest, content=content,
    )  # fmt: skip


def _safe_name(name: str) -> str:
    # Never a path: a sender's "../../x" names a file, not a place to write it.
    cleaned = re.sub(r"[\x00-\x1f\x7f]", "", repair(name)).replace("\\", "/")
    return PurePosixPath(cleaned).name.strip()[:200]


def _full_text(body: _Body) -> tuple[str, str]:
    plain = "\n".join(text for text in body.plain if text.strip()).strip()
    if plain:
        return plain, "plain"
    html = "\n".join(body.html)
    if html.strip():
        return html_to_text(html), "html"
    return "", "none"
