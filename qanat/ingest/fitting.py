"""Fit a citizen's message to what the store can hold, never refuse it for its shape.

Pure: an :class:`~qanat.model.Inbound` in, a fitted copy and notes out. The raw bytes are
kept as they came; only the normalized record is fitted:

- text that PostgreSQL cannot store (a NUL character, a lone UTF-16 surrogate) has
  those characters replaced by U+FFFD, everywhere (metadata included);
- a field longer than its column is cut to fit;
- an external id longer than its column keeps its start and a hash of the whole, so a
  redelivery of the same long id is still recognised as the same message.

Each change leaves a note (the field and what was done, never the value) in the
message's metadata under ``fitted``, so staff see why a field looks cut.
"""

from __future__ import annotations

import hashlib
import math
import re
from typing import Any

from qanat.model import Attachment, Inbound, Location, Sender
from qanat.store.tables import Attachment as AttachmentRow
from qanat.store.tables import Message

#: NUL and lone surrogates: valid in a Python string, refused by PostgreSQL and UTF-8.
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
#: How deep metadata may nest before the rest is replaced by a note.
MAX_METADATA_DEPTH = 20
#: The metadata key the notes go under.
NOTES_KEY = "fitted"


def _limit(table: Any, column: str) -> int:
    length = getattr(table.__table__.c[column].type, "length", None)
    assert isinstance(length, int), column
    return length


#: Column lengths of the message and attachment rows, read off the tables.
LIMITS = {
    "external_id": _limit(Message, "external_id"),
    "sender.handle": _limit(Message, "sender_handle"),
    "sender.name": _limit(Message, "sender_name"),
    "sender.email": _limit(Message, "sender_email"),
    "sender.phone": _limit(Message, "sender_phone"),
    "category": _limit(Message, "category"),
    "attachment.name": _limit(AttachmentRow, "name"),
    "attachment.content_type": _limit(AttachmentRow, "content_type"),
}


class _Notes:
    def __init__(self) -> None:
        self.items: list[str] = []

    def clean(self, field: str, value: str) -> str:
        cleaned = _UNSTORABLE.sub("\ufffd", value)
        if cleaned != value:
            self.items.append(f"{field}: characters the store cannot hold replaced by U+FFFD")
        return cleaned

    def fit(self, field: str, value: str | None, limit: int | None = None) -> str | None:
        if value is None:
            return None
        value = self.clean(field, value)
        limit = limit or LIMITS[field.split("[")[0]]
        if len(value) <= limit:
            return value
        self.items.append(f"{field}: cut from {len(value)} to {limit} characters")
        return value[:limit]


def fitted_external_id(external_id: str, limit: int = LIMITS["external_id"]) -> str:
    """``external_id`` if it fits, else its start and the sha256 of the whole."""
    if len(external_id) <= limit:
        return external_id
    digest = hashlib.sha256(external_id.encode("utf-8", "surrogatepass")).hexdigest()
    return f"{external_id[: limit - len(digest) - 1]}~{digest}"


def fit_inbound(inbound: Inbound) -> Inbound:
    """A copy of ``inbound`` the store can hold, with a note for each change made."""
    notes = _Notes()
    external_id = notes.clean("external_id", inbound.external_id)
    if len(external_id) > LIMITS["external_id"]:
        notes.items.append(f"external_id: {len(external_id)} characters, kept as a hash")
        external_id = fitted_external_id(external_id)
    update: dict[str, Any] = {
        "external_id": external_id,
        "sender": _sender(inbound.sender, notes),
        "subject": notes.fit("subject", inbound.subject, limit=10_000_000),
        "text": notes.clean("text", inbound.text),
        "html": notes.fit("html", inbound.html, limit=10_000_000),
        "category": notes.fit("category", inbound.category),
        "in_reply_to": [
            fitted_external_id(notes.clean("in_reply_to", item)) for item in inbound.in_reply_to
        ],
        "attachments": [_attachment(item, n, notes) for n, item in enumerate(inbound.attachments)],
        "location": _location(inbound.location, notes),
        "metadata": _metadata(inbound.metadata, notes, "metadata", 0),
    }
    if not notes.items:
        return inbound
    update["metadata"] = {**update["metadata"], NOTES_KEY: notes.items}
    if inbound.raw is None:  # keep what was given, as far as JSON can say it
        update["raw"] = _record_json(inbound)
    return inbound.model_copy(update=update)


def _record_json(inbound: Inbound) -> bytes | None:
    try:
        return inbound.model_dump_json(exclude_none=True).encode("utf-8", "surrogatepass")
    except ValueError:  # a lone surrogate: the store keeps the fitted record's JSON
        return None


def _sender(sender: Sender, notes: _Notes) -> Sender:
    return Sender.model_construct(
        handle=notes.fit("sender.handle", sender.handle) or "unknown",
        name=notes.fit("sender.name", sender.name),
        email=notes.fit("sender.email", sender.email),
        phone=notes.fit("sender.phone", sender.phone),
    )


def _attachment(item: Attachment, index: int, notes: _Notes) -> Attachment:
    return item.model_copy(
        update={
            "name": notes.fit(f"attachment.name[{index}]", item.name) or "file",
            "content_type": notes.fit(f"attachment.content_type[{index}]", item.content_type)
            or "application/octet-stream",
        }
    )


def _location(location: Location | None, notes: _Notes) -> Location | None:
    if location is None:
        return None
    parts = location.model_dump()
    for key, value in parts.items():
        if isinstance(value, str):
            parts[key] = notes.fit(f"location.{key}", value, limit=300)
    return Location.model_construct(**parts)


def _metadata(value: Any, notes: _Notes, field: str, depth: int) -> Any:
    if depth > MAX_METADATA_DEPTH:
        notes.items.append(f"{field}: nested deeper than {MAX_METADATA_DEPTH}, not kept")
        return None
    if isinstance(value, str):
        return notes.clean(field, value)
    if isinstance(value, dict):
        return {
            notes.clean(field, str(key)): _metadata(item, notes, field, depth + 1)
            for key, item in value.items()
        }
    if isinstance(value, list | tuple):
        return [_metadata(item, notes, field, depth + 1) for item in value]
    if isinstance(value, float) and not math.isfinite(value):
        notes.items.append(f"{field}: a number JSON cannot hold kept as text")
        return str(value)
    if value is None or isinstance(value, bool | int | float):
        return value
    return notes.clean(field, str(value))
