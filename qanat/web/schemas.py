"""What the JSON API answers, as models: the OpenAPI document (``/openapi.json``, read at
``/docs``) describes every answer with them.

They document the fields clients rely on; ``extra="allow"`` keeps any field a route adds
later, so a model never drops data from an answer.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class Answer(BaseModel):
    """Base of the API's answers: documented fields, nothing dropped."""

    model_config = ConfigDict(extra="allow")


class Me(Answer):
    """Who the request is authenticated as."""

    username: str
    display_name: str
    role: str = Field(description="agent, supervisor, admin or representative")
    language: str
    via: str = Field(description="session (a browser) or token (an API token)")
    scopes: list[str] | None = Field(description="the token's scopes; null for a session")


class Location(Answer):
    """Where a ticket's problem is."""

    building: str | None = None
    road: str | None = None
    block: str | None = None
    area: str | None = None
    governorate: str | None = None
    lat: float | None = None
    lon: float | None = None


class TicketSummary(Answer):
    """A ticket as lists and exports show it (no internal columns)."""

    reference: str = Field(examples=["QN-2026-000123"])
    kind: str
    status: str
    priority: str
    department: str | None = Field(description="the department's code")
    category: str | None = None
    channel: str
    language: str | None = None
    subject: str | None = None
    needs_triage: bool = False
    primary_reference: str | None = Field(default=None, description="set on a duplicate")
    location: Location
    created_at: str
    resolved_at: str | None = None
    sla_due_at: str | None = None
    first_response_due_at: str | None = None
    assignee: str | None = None
    duplicates: int | None = None
    excerpt: str | None = None


class TimelineEvent(Answer):
    """One change on a ticket: who or what, when, and its data (a routing decision, a
    duplicate's evidence, a transfer's reason, …)."""

    at: str
    actor: str
    type: str
    data: dict[str, Any]


class TicketDetail(TicketSummary):
    """One ticket with its messages, events, notes and duplicates."""

    messages: list[dict[str, Any]] = []
    events: list[TimelineEvent] = Field(default=[], description="not shown to representatives")
    notes: list[dict[str, Any]] = Field(default=[], description="internal notes")
    duplicates: list[dict[str, Any]] = Field(  # type: ignore[assignment]
        default=[], description="tickets linked to this one: reference and channel"
    )
    reporters: int | None = Field(default=None, description="citizens who reported it")


class TicketChanged(Answer):
    """A ticket after a change of kind, priority or status."""

    reference: str
    status: str
    kind: str
    priority: str
    duplicates_resolved: list[str] = Field(description="duplicates resolved with it")
    replies: list[dict[str, Any]] = Field(description="what each citizen was sent")


class ReplyResult(Answer):
    """What became of a reply."""

    message_id: int
    ticket_reference: str
    channel: str
    state: str = Field(description="queued, sent, failed or by_hand")
    detail: str = ""


class State(Answer):
    """A reply's state after it was marked delivered."""

    state: str


class Created(Answer):
    """The id of what was created."""

    id: int


class Assignee(Answer):
    """Who holds the ticket now."""

    assignee: str | None


class DepartmentMoved(Answer):
    """The department a ticket moved to."""

    department: str


class Primary(Answer):
    """The ticket a duplicate is linked to (null once unlinked)."""

    primary_reference: str | None


class Merged(Answer):
    """The merge made (its id undoes it)."""

    merge_id: int


class Unmerged(Answer):
    """The merge undone."""

    unmerged: int


class DeadLetter(Answer):
    """A message that could not be processed, with the reason."""

    id: int
    channel: str
    reason: str | None = None
    attempts: int = 0


class Retried(Answer):
    """A dead letter sent through the pipeline again."""

    id: int
    attempt: int
    state: str


class CannedReply(Answer):
    """A ready-made reply in both languages."""

    key: str
    name_ar: str
    name_en: str
    ar: str
    en: str


class Submission(Answer):
    """A representative's report: its message, and its reference once processed."""

    message_id: int | None = None
    created: bool | None = None
    reference: str | None = None


class AuditRow(Answer):
    """A view of personal data or a change, with who and when."""

    at: str
    actor: str
    username: str | None = None
    action: str
    ticket: str | None = None
    detail: dict[str, Any]
    ip: str | None = None


class Token(Answer):
    """An API token (never its secret)."""

    id: int
    name: str
    prefix: str
    username: str | None = None
    scopes: list[str]
    created_at: str
    last_used_at: str | None = None
    revoked_at: str | None = None


class TokenCreated(Answer):
    """A new token: ``token`` is its secret, shown this once."""

    id: int
    token: str
    prefix: str
    scopes: list[str]


class TokenRevoked(Answer):
    """The token revoked."""

    revoked: int


class Summary(Answer):
    """Counts per department and channel, duplicates, follow-ups, triage, dead letters."""


class ReconcileRun(Answer):
    """One night's ledger line for one channel account."""

    channel: str
    account: str
    status: str


class ChannelStatus(Answer):
    """How one channel account is doing."""

    channel: str
    account: str


class ContactSuggestion(Answer):
    """Two contacts one message showed to be the same citizen (staff decide)."""


class Entry(Answer):
    """A logged call, majlis entry, visit, walk-in or letter: its message and ticket."""

    message_id: int | None = None
    reference: str | None = None


class MissedCall(Answer):
    """A missed call to return."""

    id: int


class CalledBack(Answer):
    """The call record marked as called back."""


class Coverage(Answer):
    """Blocks with and without a community representative."""


class Open311Key(Answer):
    """An Open311 client's key (its secret only when just made)."""

    name: str


class KeyRevoked(Answer):
    """The Open311 key revoked."""

    revoked: str


class Dashboard(Answer):
    """The dashboard's figures; times in SLA hours with their targets."""

    days: list[str]
    per_channel: dict[str, list[int]]
    per_department: dict[str, list[int]]
    departments: list[dict[str, Any]]
    overall: dict[str, Any]
    places: list[dict[str, Any]]
    agents: list[dict[str, Any]] = []
    #: "Is it fixed?": overall, and by department, channel, category and month.
    satisfaction: dict[str, Any] = {}


class AppReceipt(Answer):
    """A report from the app: its reference (null while it waits for a worker; follow it
    with the receipt) and whether it is new."""

    reference: str | None
    receipt: str | None = None
    created: bool


class AppStatus(Answer):
    """A report's status as the citizens' app shows it."""

    status: str | None = None


class Service(Answer):
    """A category citizens can report."""

    code: str


class InspectionAnswer(Answer):
    """A field inspection: what to check, by whom, by when, and how it ended."""

    id: int
    status: str = Field(description="open, visited or cancelled")
    what: str
    category: str | None = None
    inspector_id: int | None = None
    due_at: str
    overdue: bool
    decision: str | None = Field(
        default=None, description="resolved, needs_work, violation or no_access once visited"
    )
    lat: float | None = None
    lon: float | None = None
    block: str | None = None
    checklist: list[dict[str, str]] = []


class InspectionDetail(InspectionAnswer):
    """One inspection with its tickets' references and its visits (photos counted)."""

    tickets: list[str] = []
    visits: list[dict[str, Any]] = []


class VisitRecorded(Answer):
    """A visit sent from an inspector's phone, as kept."""

    visit_id: int | None
    created: bool = Field(description="false when this client_id was sent before")
    decision: str
    far: bool = Field(description="the GPS fix was far from the reported place")
    distance_m: float | None = None
    photos: int


class Forwarded(Answer):
    """Where forwarding a ticket to another body's Open311 endpoint stands."""

    account: str
    state: str
    service_request_id: str | None = None
    token: str | None = None
    detail: str | None = None
