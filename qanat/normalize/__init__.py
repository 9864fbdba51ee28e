"""Normalize: pure functions that read text, language, identity, place, kind and thread hints.

:func:`normalize` is what the pipeline and ``qanat normalize`` call; the pieces are
exported for dedupe, routing and search.
"""

from __future__ import annotations

from qanat.model import Inbound, Normalized
from qanat.normalize.identity import (
    claimed_contacts,
    normalize_email,
    normalize_phone,
    sender_identities,
)
from qanat.normalize.kind import kind_of
from qanat.normalize.location import extract_location
from qanat.normalize.text import (
    clean_for_matching,
    language_of,
    language_of_match,
    match_form,
    match_tokens,
)
from qanat.normalize.thread import thread_hints, ticket_references

__all__ = [
    "clean_for_matching",
    "extract_location",
    "given_language",
    "kind_of",
    "language_of",
    "match_form",
    "match_tokens",
    "normalize",
    "normalize_email",
    "normalize_phone",
    "sender_identities",
    "thread_hints",
    "ticket_references",
]


#: Languages a channel or a member of staff may state for a message.
STATED_LANGUAGES = frozenset({"ar", "en"})


def given_language(inbound: Inbound) -> str | None:
    """The language the channel stated (an agent noting the caller spoke English), if any."""
    stated = inbound.metadata.get("language")
    return stated if stated in STATED_LANGUAGES else None


def normalize(inbound: Inbound, *, region: str = "BH") -> Normalized:
    """Read an inbound message into the record the later stages use.

    Pure: no I/O, no clock. The subject counts for matching and place; the stored text
    is never altered.
    """
    full_text = " ".join(part for part in (inbound.subject, inbound.text) if part)
    cleaned = clean_for_matching(full_text)
    location, confidence = extract_location(full_text, inbound.location)
    return Normalized(
        match_text=cleaned.text,
        language=given_language(inbound) or language_of_match(cleaned.text),
        kind=inbound.kind or kind_of(cleaned.text, full_text),
        location=location,
        location_confidence=confidence,
        identities=sender_identities(inbound.channel, inbound.sender, region),
        claimed=claimed_contacts(full_text, region),
        thread=thread_hints(inbound),
        flags=cleaned.flags,
    )
