"""Normalize: pure functions that read text, language, identity, place, kind and thread hints."""

from __future__ import annotations

import re

from qanat.model import Identity, Inbound, Kind, Normalized, ThreadHints
from qanat.normalize.text import match_form

_REFERENCE = re.compile(r"\bQN-(\d{4})-(\d{1,6})\b", re.IGNORECASE)
_ARABIC = re.compile("[\u0600-\u06ff]")
_LATIN = re.compile("[A-Za-z]")


def _language(text: str) -> str:
    arabic, latin = len(_ARABIC.findall(text)), len(_LATIN.findall(text))
    if arabic and latin and min(arabic, latin) / (arabic + latin) > 0.2:
        return "mixed"
    return "en" if latin > arabic else "ar"


def _identities(inbound: Inbound) -> list[Identity]:
    found: list[Identity] = []
    if inbound.sender.email:
        found.append(Identity(kind="email", value=inbound.sender.email.strip().lower()))
    if inbound.sender.phone:
        digits = re.sub(r"\D", "", match_form(inbound.sender.phone))
        found.append(Identity(kind="phone", value="+" + digits.removeprefix("00")))
    if inbound.channel in ("x", "telegram"):
        found.append(Identity(kind=inbound.channel, value=inbound.sender.handle))
    return found


def normalize(inbound: Inbound, *, region: str = "BH") -> Normalized:
    """Read an inbound message into the record the later stages use."""
    text = " ".join(part for part in (inbound.subject, inbound.text) if part)
    matched = match_form(text)
    references = [f"QN-{y}-{int(n):06d}" for y, n in _REFERENCE.findall(matched)]
    return Normalized(
        match_text=matched,
        language=_language(inbound.text),
        kind=inbound.kind or Kind.complaint,
        location=inbound.location,
        identities=_identities(inbound),
        thread=ThreadHints(in_reply_to=inbound.in_reply_to, ticket_references=references),
    )
