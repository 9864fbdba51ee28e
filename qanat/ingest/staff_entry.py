"""What staff bring in by hand: calls, the majlis, the council, field visits, walk-ins, letters.

An agent logs a call: the caller's number and name, the language they spoke, the kind,
what they said, the category and the place. For the weekly majlis, the coordination
council, a field visit, a walk-in or a letter, staff also record when it happened, who
raised it and on whose behalf. Each entry becomes a message on its own channel through
the intake, so these channels are first-class in the inbox's filters and the reports,
and a caller's number is the same contact as their SMS and web reports.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Literal

from pydantic import AwareDatetime, Field

from qanat.errors import BadPayload
from qanat.ingest.webform import PublicReport, contact_of
from qanat.model import Inbound, Sender

#: The channels staff enter by hand, in the order the form lists them.
STAFF_CHANNELS = ("call_centre", "majlis", "council", "field_visit", "walk_in", "letter")
#: The account of everything staff enter.
STAFF_ACCOUNT = "staff"
#: How far ahead of the clock an entry's time may be (a clock a little fast).
CLOCK_SLACK = timedelta(minutes=5)

StaffChannel = Literal["call_centre", "majlis", "council", "field_visit", "walk_in", "letter"]


class StaffEntry(PublicReport):
    """A call or an in-person contact as staff log it; ``name`` is who raised it."""

    channel: StaffChannel = "call_centre"
    occurred_at: AwareDatetime | None = Field(default=None, description="Default: now.")
    on_behalf_of: str | None = Field(default=None, max_length=200)
    language: Literal["ar", "en"] | None = None
    client_id: str | None = Field(default=None, max_length=120, pattern=r"^[A-Za-z0-9_.:-]+$")


def entry_inbound(entry: StaffEntry, *, username: str, region: str, now: datetime) -> Inbound:
    """The message a staff entry becomes; :class:`BadPayload` for a wrong number or time."""
    occurred = entry.occurred_at or now
    if occurred > now + CLOCK_SLACK:
        raise BadPayload("the entry's time is in the future")
    phone, email = contact_of(entry, region=region, required=False)
    # A call's handle is the caller's number (that is how call records find it); the
    # other channels' handle names who logged it, which is not a citizen's identity.
    handle = phone if entry.channel == "call_centre" and phone else f"staff:{username}"
    metadata = {
        "logged_by": username,
        "on_behalf_of": entry.on_behalf_of,
        "language": entry.language,
    }
    return Inbound(
        channel=entry.channel,
        account=STAFF_ACCOUNT,
        external_id=f"{username}:{entry.client_id or uuid.uuid4().hex}",
        received_at=occurred,
        sender=Sender(handle=handle, name=entry.name or None, phone=phone, email=email),
        text=entry.text,
        kind=entry.kind,
        category=entry.category,
        location=entry.location(),
        metadata={k: v for k, v in metadata.items() if v},
    )
