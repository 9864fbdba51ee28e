"""Identity: who a message is from, in forms that match across channels.

Phones become E.164 (default region Bahrain), emails are lower-cased and checked, X and
Telegram ids are kept as given. Phones and emails written inside a message are
*claimed* details: shown to staff, never trusted as identity.
"""

from __future__ import annotations

import re

import phonenumbers

from qanat.model import Identity, Sender
from qanat.normalize.text import clean_for_matching

_DIGITS = str.maketrans(
    {**{chr(0x0660 + d): str(d) for d in range(10)}, **{chr(0x06F0 + d): str(d) for d in range(10)}}
)
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]{2,}$")

#: Channels whose sender handle is the phone number itself.
PHONE_CHANNELS = frozenset({"sms", "call_centre", "whatsapp"})
#: Channels whose sender handle is an account id of that service.
ACCOUNT_CHANNELS = frozenset({"x", "telegram", "whatsapp"})
#: Channels where staff type the sender in; the handle is a staff reference, not an identity.
ENTERED_CHANNELS = frozenset(
    {"web", "app", "majlis", "council", "field_visit", "walk_in", "letter", "open311", "email"}
)


def normalize_phone(raw: str, region: str = "BH") -> str | None:
    """``raw`` as E.164 (``+97333123456``) when it is a valid number, else None."""
    text = raw.translate(_DIGITS).strip()
    if text.startswith("00"):
        text = "+" + text[2:]
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    return str(phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164))


def normalize_email(raw: str) -> str | None:
    """``raw`` lower-cased and trimmed when it looks like an address, else None."""
    address = raw.strip().strip("<>").lower()
    return address if _EMAIL.match(address) else None


def sender_identities(channel: str, sender: Sender, region: str = "BH") -> list[Identity]:
    """The identities a message's sender proves by sending on ``channel``."""
    found: list[Identity] = []
    phone = sender.phone or (sender.handle if channel in PHONE_CHANNELS else None)
    if phone and (value := normalize_phone(phone, region)):
        found.append(Identity(kind="phone", value=value))
    email = sender.email or (sender.handle if channel == "email" else None)
    if email and (value := normalize_email(email)):
        found.append(Identity(kind="email", value=value))
    if channel in ACCOUNT_CHANNELS and channel != "whatsapp":
        found.append(Identity(kind=channel, value=sender.handle))
    elif channel not in ENTERED_CHANNELS and channel not in PHONE_CHANNELS:
        # A plugin's channel: its handle is that service's account id.
        found.append(Identity(kind=channel, value=sender.handle))
    return list(dict.fromkeys(found))


def claimed_contacts(text: str, region: str = "BH") -> list[Identity]:
    """Phones and emails written in the text (shown to staff, not trusted as identity)."""
    cleaned = clean_for_matching(text)
    found = [
        Identity(kind="phone", value=value)
        for raw in cleaned.phones
        if (value := normalize_phone(raw, region))
    ]
    found += [
        Identity(kind="email", value=value)
        for raw in cleaned.emails
        if (value := normalize_email(raw))
    ]
    return list(dict.fromkeys(found))
