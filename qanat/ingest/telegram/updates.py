"""Telegram updates read into qanat's records, and replies cut to Telegram's limit.

Pure functions: no network, no clock. The connector (:mod:`qanat.ingest.telegram.connector`) parses
each update with python-telegram-bot's ``Update.de_json``, fetches its files, and hands
the pieces to :func:`inbound_of`.

- external id: ``"{chat_id}:{message_id}"`` — message ids are only unique within a chat.
  Replies qanat sends are stored under the same form, so a citizen's reply to one of
  them (``reply_to_message``) names a message qanat holds and joins its ticket.
- sender: the Telegram user id is the handle (stable; usernames change), the name is
  first + last name, the username goes to metadata.
- a shared contact whose ``user_id`` is the sender's own is the sender's phone number:
  it goes to ``Sender.phone`` so the citizen is linked to their calls and SMS. Someone
  else's contact card is kept in metadata only (never an identity of the sender).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from telegram import Contact, Message

from qanat.model import Attachment, Inbound, Location, Sender

CHANNEL = "telegram"

#: The update kinds qanat reads; every other kind is acknowledged, logged, not stored.
HANDLED_KINDS = ("message", "edited_message")

#: A message's text limit in the Bot API, counted in UTF-16 code units.
TELEGRAM_TEXT_LIMIT = 4096


@dataclass(frozen=True)
class FileToFetch:
    """A file a message carries, as the Bot API names it; fetched with ``getFile``."""

    file_id: str
    name: str
    content_type: str
    size: int | None


def update_kind(update: Mapping[str, Any]) -> str | None:
    """``message`` or ``edited_message`` when qanat handles the update, else None."""
    for kind in HANDLED_KINDS:
        if isinstance(update.get(kind), dict):
            return kind
    return None


def external_id(chat_id: int | str, message_id: int | str) -> str:
    """The external id of a Telegram message: ``"{chat_id}:{message_id}"``."""
    return f"{chat_id}:{message_id}"


def full_name(first: str | None, last: str | None) -> str | None:
    """First and last name joined, or None when neither is given."""
    name = " ".join(part for part in (first, last) if part)
    return name or None


def contact_phone(contact: Contact) -> str:
    """The contact's number with a leading ``+``: Telegram sends it international but
    usually without the plus, which phone parsing would read as a national number."""
    compact = re.sub(r"[\s\-()]", "", contact.phone_number)
    if compact.isdigit() and not compact.startswith("0"):
        return "+" + compact
    return compact


def sender_of(message: Message) -> Sender:
    """Who sent ``message``: the user id as handle, their name, and their own phone if shared."""
    user = message.from_user
    if user is None:  # an anonymous group admin or a channel: the chat speaks
        chat = message.sender_chat or message.chat
        return Sender(handle=str(chat.id), name=chat.title or chat.effective_name)
    phone = None
    if message.contact is not None and message.contact.user_id == user.id:
        phone = contact_phone(message.contact)
    return Sender(handle=str(user.id), name=full_name(user.first_name, user.last_name), phone=phone)


def location_of(message: Message) -> Location | None:
    """Coordinates of a shared location or venue (with the venue's address).

    Coordinates off the globe (a latitude of 999) are not kept — the venue's address
    still is — so a bad point never costs the citizen their message.
    """
    if message.venue is not None:
        venue = message.venue
        address = ", ".join(str(part) for part in (venue.title, venue.address) if part)
        point = _point(venue.location.latitude, venue.location.longitude)
        return Location(address=address or None, **point)
    if message.location is not None:
        point = _point(message.location.latitude, message.location.longitude)
        return Location(**point) if point else None
    return None


def _point(lat: object, lon: object) -> dict[str, float]:
    try:
        checked = Location(lat=lat, lon=lon)
    except ValueError:
        return {}
    if checked.lat is None or checked.lon is None:
        return {}
    return {"lat": checked.lat, "lon": checked.lon}


def text_of(message: Message) -> str:
    """The message's words: its text, a caption, or a shared contact card as shown."""
    if message.text or message.caption:
        words = message.text or message.caption
        return words if isinstance(words, str) else str(words)  # an odd client's number
    if message.contact is not None:
        # A contact on its own has no words; staff see the card, as Telegram shows it.
        contact = message.contact
        name = full_name(contact.first_name, contact.last_name) or ""
        return f"{name} {contact_phone(contact)}".strip()
    return ""


def files_of(message: Message) -> list[FileToFetch]:
    """The files a message carries; for a photo only its largest size."""
    files: list[FileToFetch] = []
    if message.photo:
        largest = max(message.photo, key=lambda size: (size.width * size.height, size.file_size))
        files.append(
            FileToFetch(
                largest.file_id,
                f"photo_{largest.file_unique_id}.jpg",
                "image/jpeg",
                largest.file_size,
            )
        )
    named = (
        (message.document, "document", "application/octet-stream"),
        (message.audio, "audio", "audio/mpeg"),
        (message.video, "video", "video/mp4"),
        (message.voice, "voice", "audio/ogg"),
    )
    for item, label, default_type in named:
        if item is None:
            continue
        name = getattr(item, "file_name", None) or f"{label}_{item.file_unique_id}"
        if label == "voice":
            name += ".ogg"
        files.append(
            FileToFetch(item.file_id, name, item.mime_type or default_type, item.file_size)
        )
    return files


def metadata_of(message: Message, *, update_id: int, kind: str) -> dict[str, Any]:
    """What staff and later stages may want from the update, beyond the Inbound fields."""
    metadata: dict[str, Any] = {
        "update_id": update_id,
        "update_kind": kind,
        "chat_id": message.chat.id,
        "chat_type": message.chat.type,
        "message_id": message.message_id,
    }
    if message.from_user is not None and message.from_user.username:
        metadata["username"] = message.from_user.username
    if message.from_user is not None and message.from_user.language_code:
        metadata["language_code"] = message.from_user.language_code
    if message.contact is not None:
        metadata["contact"] = message.contact.to_dict()
    if message.edit_date is not None:
        metadata["edit_date"] = message.edit_date.isoformat()
    files = files_of(message)
    if files:
        metadata["file_ids"] = [item.file_id for item in files]
    return metadata


def in_reply_to_of(message: Message) -> list[str]:
    """The message this one answers (a Telegram reply), as an external id."""
    if message.reply_to_message is not None:
        return [external_id(message.chat.id, message.reply_to_message.message_id)]
    if message.contact is not None and message.chat.type == "private":
        # A shared contact answers whatever came just before it in a private chat
        # (usually our request for a number); ids there count up for both sides.
        return [external_id(message.chat.id, message.message_id - 1)]
    return []


def inbound_of(
    message: Message,
    *,
    account: str,
    update_id: int,
    kind: str,
    raw: bytes,
    attachments: list[Attachment],
) -> Inbound:
    """The :class:`Inbound` for one Telegram message (an edit carries its edit time)."""
    received: datetime = message.edit_date or message.date
    return Inbound(
        channel=CHANNEL,
        account=account,
        external_id=external_id(message.chat.id, message.message_id),
        received_at=received,
        sender=sender_of(message),
        text=text_of(message),
        attachments=attachments,
        in_reply_to=in_reply_to_of(message),
        location=location_of(message),
        metadata=metadata_of(message, update_id=update_id, kind=kind),
        raw=raw,
    )


def dead_letter_inbound(
    update: Mapping[str, Any], *, account: str, raw: bytes, received_at: datetime
) -> Inbound:
    """A best-effort :class:`Inbound` for an update that would not parse, kept raw.

    It is keyed like a good one when the ids are there (so a fixed re-delivery is still
    recognised), else by the update id.
    """
    kind = update_kind(update) or "update"
    body = update.get(kind) if isinstance(update.get(kind), dict) else {}
    assert isinstance(body, dict)
    chat = body.get("chat") if isinstance(body.get("chat"), dict) else {}
    sender = body.get("from") if isinstance(body.get("from"), dict) else {}
    assert isinstance(chat, dict) and isinstance(sender, dict)
    if chat.get("id") is not None and body.get("message_id") is not None:
        key = external_id(chat["id"], body["message_id"])
    else:
        key = f"update:{update.get('update_id', 'unknown')}"
    text = body.get("text") or body.get("caption") or ""
    return Inbound(
        channel=CHANNEL,
        account=account,
        external_id=key,
        received_at=received_at,
        sender=Sender(handle=str(sender.get("id") or chat.get("id") or "unknown")),
        text=text if isinstance(text, str) else "",
        metadata={"update_id": update.get("update_id"), "update_kind": kind},
        raw=raw,
    )


def update_bytes(update: Mapping[str, Any]) -> bytes:
    """One update of a ``getUpdates`` batch as bytes to keep (UTF-8 JSON, Arabic unescaped)."""
    return json.dumps(update, ensure_ascii=False, separators=(",", ":")).encode()


def utf16_len(text: str) -> int:
    """Length in UTF-16 code units, as Telegram counts text and entity offsets."""
    return len(text.encode("utf-16-le")) // 2


def split_for_telegram(text: str, limit: int = TELEGRAM_TEXT_LIMIT) -> list[str]:
    """``text`` in parts of at most ``limit`` UTF-16 code units each.

    Parts end at a paragraph, line or word break when there is one in the part's second
    half; otherwise a word is cut (never a character: surrogate pairs stay whole).
    Joining the parts gives back the text, apart from the breaks the cuts fell on.
    """
    parts: list[str] = []
    rest = text.strip()
    while utf16_len(rest) > limit:
        fits = _longest_prefix(rest, limit)
        cut = _break_in(rest[:fits]) or fits
        parts.append(rest[:cut].rstrip())
        rest = rest[cut:].lstrip()
    if rest:
        parts.append(rest)
    return parts


def _longest_prefix(text: str, limit: int) -> int:
    # Characters, not code units: a character outside the BMP takes two units.
    units = 0
    for index, character in enumerate(text):
        units += 2 if ord(character) > 0xFFFF else 1
        if units > limit:
            return index
    return len(text)


def _break_in(chunk: str) -> int | None:
    for separator in ("\n\n", "\n", " "):
        position = chunk.rfind(separator)
        if position >= len(chunk) // 2:
            return position + len(separator)
    return None
