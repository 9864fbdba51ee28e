"""The records that pass between qanat's stages.

A connector produces an :class:`Inbound`; the store keeps it byte-for-byte; the
pipeline turns it into a :class:`Normalized` record and then into decisions
(:class:`ThreadDecision`, :class:`DuplicateDecision`, :class:`RoutingDecision`).
Nothing here imports the rest of qanat, so every stage can depend on it.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator

#: Channel names qanat ships with. A plugin may add more; a channel is just a string.
BUILTIN_CHANNELS = (
    "x",
    "telegram",
    "email",
    "sms",
    "call_centre",
    "web",
    "app",
    "majlis",
    "council",
    "field_visit",
    "walk_in",
    "letter",
    "open311",
)


class Kind(StrEnum):
    """What the citizen is asking for; the ops staff's own categories of contact."""

    complaint = "complaint"
    suggestion = "suggestion"
    inquiry = "inquiry"
    request = "request"
    compliment = "compliment"


class TicketStatus(StrEnum):
    """Where a ticket is in its life; `pending` means waiting on the citizen."""

    new = "new"
    open = "open"
    pending = "pending"
    resolved = "resolved"
    closed = "closed"


#: Statuses in which a ticket still carries work (dedupe and threading look only here).
OPEN_STATUSES = (TicketStatus.new, TicketStatus.open, TicketStatus.pending)


class Priority(StrEnum):
    """How soon the department must act."""

    low = "low"
    normal = "normal"
    high = "high"
    urgent = "urgent"


class Direction(StrEnum):
    """Whether a message came from a citizen or went out to one."""

    inbound = "in"
    outbound = "out"


class DeliveryState(StrEnum):
    """Where a reply qanat sends stands (the state of an outbound message)."""

    queued = "queued"
    sent = "sent"
    failed = "failed"
    by_hand = "by_hand"


class ProcessingState(StrEnum):
    """Where a saved message is in the pipeline."""

    received = "received"
    processed = "processed"
    dead_letter = "dead_letter"
    ignored = "ignored"


class Sender(BaseModel):
    """Who sent a message, as the channel names them."""

    model_config = ConfigDict(extra="forbid")

    handle: str = Field(min_length=1, description="The channel's own id for the sender.")
    name: str | None = None
    email: str | None = None
    phone: str | None = None


class Location(BaseModel):
    """A place as the citizen or channel gave it; every part is optional."""

    model_config = ConfigDict(extra="forbid")

    lat: float | None = Field(default=None, ge=-90, le=90)
    lon: float | None = Field(default=None, ge=-180, le=180)
    building: str | None = None
    road: str | None = None
    block: str | None = None
    flat: str | None = None
    area: str | None = None
    governorate: str | None = None
    address: str | None = None

    def is_empty(self) -> bool:
        """True when no part of the location is known."""
        return all(value is None for value in self.model_dump().values())


class Attachment(BaseModel):
    """A file that came with a message; the bytes live in the attachment folder."""

    name: str
    content_type: str = "application/octet-stream"
    size: int = Field(ge=0)
    sha256: str | None = None
    stored_at: str | None = Field(default=None, description="Path under the attachment folder.")
    note: str | None = Field(default=None, description="Why the bytes were not kept, if so.")
    content: bytes | None = Field(default=None, exclude=True, repr=False)


class Inbound(BaseModel):
    """One message as a connector received it, before any processing.

    This is also the JSON Lines interchange format read by ``qanat import``.
    ``raw`` holds the exact bytes the source sent; when absent, the store keeps the
    record's own JSON.
    """

    model_config = ConfigDict(extra="forbid")

    channel: str = Field(min_length=1, max_length=40, pattern=r"^[a-z0-9_.-]+$")
    account: str = Field(default="default", min_length=1, max_length=120)
    #: Any length: the intake keeps an over-long id as its start and a hash of the whole.
    external_id: str = Field(min_length=1)
    received_at: AwareDatetime
    sender: Sender
    subject: str | None = None
    text: str = ""
    html: str | None = None
    attachments: list[Attachment] = Field(default_factory=list)
    in_reply_to: list[str] = Field(
        default_factory=list,
        description="External ids of earlier messages this one answers (email "
        "In-Reply-To/References, a Telegram reply, an X conversation).",
    )
    location: Location | None = None
    category: str | None = None
    kind: Kind | None = None
    department: str | None = None
    status: TicketStatus | None = None
    metadata: dict[str, Any] = Field(default_factory=dict)
    raw: bytes | None = Field(default=None, exclude=True, repr=False)

    @field_validator("in_reply_to", mode="before")
    @classmethod
    def _one_or_many(cls, value: object) -> object:
        # The interchange format allows a single id as well as a list.
        if isinstance(value, str):
            return [value]
        return value


class Identity(BaseModel):
    """One way to reach a contact (kind: email / phone / x / telegram / …)."""

    model_config = ConfigDict(frozen=True)

    kind: str
    value: str


class ThreadHints(BaseModel):
    """What a message says about which conversation it belongs to."""

    in_reply_to: list[str] = Field(default_factory=list)
    ticket_references: list[str] = Field(default_factory=list)


class Normalized(BaseModel):
    """What the normalize stage reads out of an :class:`Inbound`."""

    match_text: str
    language: str
    kind: Kind
    location: Location | None = None
    location_confidence: dict[str, float] = Field(
        default_factory=dict, description="Confidence (0–1) of each location part found."
    )
    identities: list[Identity] = Field(default_factory=list)
    claimed: list[Identity] = Field(
        default_factory=list, description="Phones / emails written in the text: shown, not trusted."
    )
    thread: ThreadHints = Field(default_factory=ThreadHints)
    flags: list[str] = Field(default_factory=list)


class CandidateTicket(BaseModel):
    """An open ticket as dedupe sees it when looking for the same problem."""

    ticket_id: int
    match_text: str
    block: str | None = None
    road: str | None = None
    category: str | None = None
    created_at: AwareDatetime | None = None
    contact_id: int | None = None


class DuplicateDecision(BaseModel):
    """Whether a new ticket repeats an open one, and the evidence for it.

    ``primary_ticket_id`` is set when the ticket is linked. When the best open ticket
    scored under the link threshold but at or above the suggestion threshold, it is only
    suggested to staff: ``suggested_ticket_id`` names it and the score is its score.
    """

    primary_ticket_id: int | None
    score: float = 0.0
    threshold: float = 0.0
    features: dict[str, Any] = Field(default_factory=dict)
    suggested_ticket_id: int | None = None


class RoutingDecision(BaseModel):
    """Which department owns a ticket, how urgent it is, and why."""

    department: str
    category: str | None = None
    priority: Priority = Priority.normal
    sla_hours: float | None = Field(default=None, description="Hours to resolve.")
    first_response_hours: float | None = None
    sla_clock: str = Field(default="business", description="business or continuous")
    confidence: float = 1.0
    needs_triage: bool = False
    reason: str
    rules_version: str | None = None
    #: What decided: ``source``, ``category``, ``kind``, ``keyword``, ``place``,
    #: ``learned`` or ``default`` (nothing did: triage).
    basis: str = "rule"
    #: The learned model's best guess when it was not what decided (shown to triage).
    suggestion: str | None = None


#: Where a reply shows, on channels that have both (X): under the citizen's public post,
#: or as a private message.
Visibility = Literal["public", "private"]


class Reply(BaseModel):
    """A message from staff to a citizen, to leave on the citizen's channel."""

    ticket_reference: str
    channel: str
    account: str = "default"
    to: Sender
    text: str
    html: str | None = None
    subject: str | None = None
    language: str = "ar"
    in_reply_to: list[str] = Field(
        default_factory=list, description="External ids of the citizen's messages answered."
    )
    metadata: dict[str, Any] = Field(default_factory=dict)


class SentReply(BaseModel):
    """What a connector reports after sending: the channel's id for the message it sent."""

    external_id: str
    raw: bytes = b""
    metadata: dict[str, Any] = Field(default_factory=dict)
