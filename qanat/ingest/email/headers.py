"""Reading email headers the way real mail writes them: encoded words, stray 8-bit bytes,
broken addresses and dates. Pure functions used by :mod:`qanat.ingest.email.mime`.

Every reader appends what it had to work around to a ``defects`` list and never raises.
"""

from __future__ import annotations

import hashlib
import re
from datetime import UTC, datetime, timedelta
from email.header import decode_header, make_header
from email.message import EmailMessage, Message
from email.utils import getaddresses, parsedate_to_datetime
from typing import Any

from qanat.ingest.email.text import decode_text
from qanat.model import Sender

#: A Date header this far past the time of receipt is a wrong clock, not the send time.
FUTURE_TOLERANCE = timedelta(days=1)

_MSG_ID = re.compile(r"<[^<>\s]+>")
_SURROGATE = re.compile("[\udc80-\udcff]")
_NOT_IN_ADDRESS = re.compile("[\\s\x00-\x1f\ufffd\udc80-\udcff]")


def describe(defect: Exception) -> str:
    """A parser defect as one readable line."""
    detail = str(defect)
    return f"{type(defect).__name__}: {detail}" if detail else type(defect).__name__


def repair(text: str) -> str:
    """``text`` without the lone surrogates the parser leaves for undecodable bytes."""
    if not _SURROGATE.search(text):
        return text
    return decode_text(text.encode("utf-8", "surrogateescape"), None)[0]


def repaired(value: Any) -> Any:
    """``value`` (str, list or dict) with every string repaired: it is stored as JSON."""
    if isinstance(value, str):
        return repair(value)
    if isinstance(value, list):
        return [repaired(item) for item in value]
    if isinstance(value, dict):
        return {key: repaired(item) for key, item in value.items()}
    return value


def unfold(value: str) -> str:
    """A header value on one line, without NULs."""
    return re.sub(r"\r?\n[ \t]*", " ", value).replace("\x00", "").strip()


def header_text(message: Message, name: str, defects: list[str]) -> str | None:
    """A header's decoded value (RFC 2047 words, stray 8-bit bytes), None when absent."""
    raw_value = next((v for k, v in message.raw_items() if k.lower() == name.lower()), None)
    if raw_value is None:
        return None
    if _SURROGATE.search(raw_value):
        # 8-bit bytes in a header (no RFC 2047): decode them like a body.
        text, codec, _ = decode_text(raw_value.encode("ascii", "surrogateescape"), None)
        defects.append(f"{name}: unencoded 8-bit header read as {codec}")
        return unfold(text)
    try:
        if not isinstance(message, EmailMessage):
            raise TypeError("a message read with the legacy parser")
        value = message[name]
        defects.extend(f"{name}: {describe(d)}" for d in getattr(value, "defects", ()))
        return unfold(repair(str(value)))
    except Exception as exc:  # the modern header parser gave up; use the legacy decoder
        if isinstance(message, EmailMessage):
            defects.append(f"{name}: {type(exc).__name__}, read with the legacy decoder")
        try:
            return unfold(repair(str(make_header(decode_header(raw_value)))))
        except Exception:
            return unfold(raw_value)


def normalize_message_id(value: str | None) -> str | None:
    """A Message-ID in its ``<left@right>`` form, whatever spacing the sender used."""
    if not value or not value.strip():
        return None
    found = _MSG_ID.search(value)
    if found:
        return found[0]
    token = value.split()[0].strip("<>")
    return f"<{token}>" if token else None


def raw_external_id(raw: bytes) -> str:
    """The external id of a message without a usable Message-ID: a hash of its bytes."""
    return "sha256:" + hashlib.sha256(raw).hexdigest()


def external_id(message_id: str | None, raw: bytes) -> str:
    """The Message-ID, or the hash of the raw bytes when there is none (or it is absurd)."""
    if message_id and len(message_id) <= 500:
        return message_id
    return raw_external_id(raw)


def thread_ids(message: Message, defects: list[str]) -> list[str]:
    """Message-IDs this message answers: In-Reply-To first, then References newest first."""
    found: list[str] = []
    for name in ("In-Reply-To", "References"):
        text = header_text(message, name, defects) or ""
        ids = _MSG_ID.findall(text) or [f"<{t.strip('<>')}>" for t in text.split() if "@" in t]
        found.extend(reversed(ids) if name == "References" else ids)
    return list(dict.fromkeys(found))


def usable_address(address: str) -> bool:
    """True for something that can be written to: local@domain, no spaces or junk."""
    local, _, domain = address.rpartition("@")
    return bool(local and domain) and not _NOT_IN_ADDRESS.search(address)


def addresses(message: Message, name: str, defects: list[str]) -> list[str]:
    """The usable addresses of an address header, lower-cased."""
    text = header_text(message, name, defects)
    if not text:
        return []
    return [address.lower() for _, address in getaddresses([text]) if usable_address(address)]


def read_sender(message: Message, envelope_from: str | None, defects: list[str]) -> Sender:
    """The sender from From (or the SMTP envelope); handle ``unknown`` when neither works."""
    name, address = _from_address(message, defects)
    if not address and envelope_from:
        candidate = envelope_from.strip("<> ").lower()
        if usable_address(candidate):
            address = candidate
            defects.append("From: no usable address, the envelope sender is used")
    if not address:
        defects.append("From: no usable address")
        return Sender(handle="unknown", name=name or None)
    return Sender(handle=address, email=address, name=name or None)


def _from_address(message: Message, defects: list[str]) -> tuple[str, str]:
    text = header_text(message, "From", defects) or ""
    try:
        value = message["From"] if isinstance(message, EmailMessage) else None
        for address in getattr(value, "addresses", ()):
            display = address.display_name
            if usable_address(address.addr_spec) and not _SURROGATE.search(display):
                return display.strip(), address.addr_spec.lower()
    except Exception as exc:
        defects.append(f"From: {type(exc).__name__}")
    for display, address in getaddresses([text]):
        if usable_address(address):
            return display.strip(), address.lower()
    return text.split("<")[0].strip().strip('"'), ""


def read_date(value: str | None, received_at: datetime | None, defects: list[str]) -> datetime:
    """The Date header as an aware datetime, or the time of receipt when it is unusable."""
    fallback = received_at or datetime.now(UTC)
    if not value:
        return fallback
    try:
        parsed = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        defects.append("Date: unreadable, the time of receipt is used")
        return fallback
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    if parsed > fallback + FUTURE_TOLERANCE:
        defects.append("Date: in the future, the time of receipt is used")
        return fallback
    return parsed
