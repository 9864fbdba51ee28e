"""qanat's tables. Every schema change comes with an Alembic migration in ``migrations/``."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    DateTime,
    Index,
    LargeBinary,
    UniqueConstraint,
    event,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator
from sqlmodel import Field

from qanat.store.row import Row


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp stored in UTC and always read back as an aware datetime.

    SQLite keeps no timezone, so without this a value would come back naive there and
    aware on PostgreSQL; every stage compares aware datetimes.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("qanat stores aware datetimes only")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


#: The time rows are stamped with, when a caller has set one (see :func:`stamped_at`).
_STAMP: ContextVar[datetime | None] = ContextVar("qanat_stamp", default=None)


def utcnow() -> datetime:
    """The current time, aware, in UTC — or the time :func:`stamped_at` set."""
    return _STAMP.get() or datetime.now(UTC)


@contextmanager
def stamped_at(moment: datetime) -> Iterator[None]:
    """Within the block, :func:`utcnow` (every row's ``created_at``, every event's ``at``)
    is ``moment``: the demo plays its weeks of work at the times they happened, and tests
    move the clock instead of sleeping. Only the current task and what it awaits see it."""
    if moment.tzinfo is None:
        raise ValueError("stamped_at takes an aware datetime")
    token = _STAMP.set(moment.astimezone(UTC))
    try:
        yield
    finally:
        _STAMP.reset(token)


def _when(*, nullable: bool = False, index: bool = False) -> Any:
    column: Column[datetime] = Column(UTCDateTime(), nullable=nullable, index=index)
    if nullable:
        return Field(default=None, sa_column=column)
    return Field(default_factory=utcnow, sa_column=column)


def _json(default: Any = None) -> Any:
    if default is None:
        return Field(default=None, sa_column=Column(JSON, nullable=True))
    return Field(default_factory=default, sa_column=Column(JSON, nullable=False))


class Department(Row, table=True):
    """A unit that owns tickets (roads, sewage, buildings, …); synced from the rules file."""

    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(max_length=60, unique=True, index=True)
    name_en: str = Field(max_length=200)
    name_ar: str = Field(max_length=200)
    email: str | None = Field(default=None, max_length=320)
    active: bool = True


class User(Row, table=True):
    """A member of staff (agent, supervisor, admin) or a block's community representative."""

    __tablename__ = "staff_user"

    id: int | None = Field(default=None, primary_key=True)
    username: str = Field(max_length=120, unique=True, index=True)
    display_name: str = Field(max_length=200)
    password_hash: str = Field(max_length=400)
    role: str = Field(max_length=20)
    department_id: int | None = Field(default=None, foreign_key="department.id")
    block: str | None = Field(default=None, max_length=10)
    language: str = Field(default="ar", max_length=8)
    active: bool = True
    created_at: datetime = _when()
    # Assignment: who can take new tickets now, and in which languages.
    languages: list[str] = _json(lambda: ["ar", "en"])
    shift: str | None = Field(
        default=None, max_length=20, description="07:00-15:00; None: any time"
    )
    away_until: datetime | None = _when(nullable=True)
    #: Where alerts and reports reach this person (None: they are not mailed).
    email: str | None = Field(default=None, max_length=320)


class Contact(Row, table=True):
    """One citizen, however many channels they use."""

    id: int | None = Field(default=None, primary_key=True)
    display_name: str | None = Field(default=None, max_length=200)
    merged_into_id: int | None = Field(default=None, foreign_key="contact.id")
    created_at: datetime = _when()


class ContactIdentity(Row, table=True):
    """One way to reach a contact: an email, an E.164 phone, an X or Telegram id, …"""

    __tablename__ = "contact_identity"
    __table_args__ = (
        UniqueConstraint("kind", "value", name="uq_contact_identity_kind_value"),
        # Search finds a citizen by a phone number typed alone, whatever its kind.
        Index("ix_contact_identity_value", "value"),
    )

    id: int | None = Field(default=None, primary_key=True)
    contact_id: int = Field(foreign_key="contact.id", index=True)
    kind: str = Field(max_length=20)
    value: str = Field(max_length=320)
    created_at: datetime = _when()


class Ticket(Row, table=True):
    """A piece of work for the body, with the citizen's own reference number."""

    __table_args__ = (
        Index("ix_ticket_status_department", "status", "department_id"),
        # The queues "mine", "unassigned" and "triage" count their open tickets by index.
        Index("ix_ticket_assignee_status", "assignee_id", "status"),
        Index("ix_ticket_status_triage", "status", "needs_triage"),
        # Recurring places: a block's tickets of the last months, newest last.
        Index("ix_ticket_block_created", "block", "created_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    reference: str = Field(max_length=30, unique=True, index=True)
    kind: str = Field(max_length=20)
    status: str = Field(max_length=20, index=True)
    priority: str = Field(default="normal", max_length=10)
    department_id: int | None = Field(default=None, foreign_key="department.id")
    assignee_id: int | None = Field(default=None, foreign_key="staff_user.id")
    contact_id: int | None = Field(default=None, foreign_key="contact.id", index=True)
    primary_ticket_id: int | None = Field(default=None, foreign_key="ticket.id", index=True)
    channel: str = Field(max_length=40)
    language: str | None = Field(default=None, max_length=10)
    subject: str | None = None
    category: str | None = Field(default=None, max_length=80)
    match_text: str = ""
    #: What search looks in (see :func:`search_text_of`): written when the ticket is
    #: opened and added to as citizens' messages join it.
    search_text: str = ""
    building: str | None = Field(default=None, max_length=20)
    road: str | None = Field(default=None, max_length=20)
    block: str | None = Field(default=None, max_length=10, index=True)
    area: str | None = Field(default=None, max_length=120)
    governorate: str | None = Field(default=None, max_length=120)
    lat: float | None = None
    lon: float | None = None
    needs_triage: bool = False
    flags: list[str] = _json(list)
    created_at: datetime = _when(index=True)
    updated_at: datetime = _when()
    first_response_at: datetime | None = _when(nullable=True)
    resolved_at: datetime | None = _when(nullable=True)
    first_response_due_at: datetime | None = _when(nullable=True)
    sla_due_at: datetime | None = _when(nullable=True)
    # SLA clocks: when to warn before the deadline, and the pauses while pending.
    first_response_warn_at: datetime | None = _when(nullable=True)
    sla_warn_at: datetime | None = _when(nullable=True)
    sla_paused_at: datetime | None = _when(nullable=True)
    sla_pauses: list[list[str]] = _json(list)
    # The due times the SLA check announced (a warning, an escalation) per clock: it
    # selects by these what is new, and a moved deadline no longer matches them.
    first_response_warned_for: datetime | None = _when(nullable=True)
    first_response_escalated_for: datetime | None = _when(nullable=True)
    sla_warned_for: datetime | None = _when(nullable=True)
    sla_escalated_for: datetime | None = _when(nullable=True)


#: Indexes that exist on PostgreSQL only (``pg_trgm``), made by migration 0017; schema
#: comparisons leave them out.
POSTGRES_ONLY_INDEXES = frozenset({"ix_ticket_search_trgm"})
#: At most this many characters of a ticket's messages are searched.
MAX_SEARCH_CHARS = 20_000


def search_text_of(match_text: str, reference: str = "", identities: Iterable[str] = ()) -> str:
    """What search looks in for a new ticket: its text in match form, its reference and
    the ways its citizen wrote in, in lower case."""
    parts = [match_text, reference.lower(), *(value.lower() for value in identities)]
    return " ".join(p for p in parts if p)[:MAX_SEARCH_CHARS]


def add_search_text(ticket: Ticket, match_text: str | None) -> None:
    """Make a message that joins ``ticket`` findable by its words (match form)."""
    if (
        match_text
        and len(ticket.search_text) < MAX_SEARCH_CHARS
        and match_text not in ticket.search_text  # "still not fixed" again adds nothing
    ):
        ticket.search_text = f"{ticket.search_text} {match_text}"[:MAX_SEARCH_CHARS]


@event.listens_for(Ticket, "before_insert")
def _searchable(_mapper: Any, _connection: Any, ticket: Ticket) -> None:
    # Tickets opened anywhere (imports, the demo, tests) are searchable like the pipeline's.
    if not ticket.search_text:
        ticket.search_text = search_text_of(ticket.match_text, ticket.reference)


def include_in_schema(obj: Any, name: str | None, type_: str, *_: Any) -> bool:
    """For Alembic's comparisons: everything but :data:`POSTGRES_ONLY_INDEXES`."""
    return not (type_ == "index" and name in POSTGRES_ONLY_INDEXES)


class Message(Row, table=True):
    """One message in or out on any channel, kept byte-for-byte in ``raw``."""

    __table_args__ = (
        UniqueConstraint("channel", "account", "external_id", name="uq_message_source"),
        Index("ix_message_state", "state"),
    )

    id: int | None = Field(default=None, primary_key=True)
    channel: str = Field(max_length=40)
    account: str = Field(max_length=120)
    external_id: str = Field(max_length=500)
    direction: str = Field(default="in", max_length=3)
    received_at: datetime = _when(index=True)
    sender_handle: str = Field(max_length=320)
    sender_name: str | None = Field(default=None, max_length=200)
    sender_email: str | None = Field(default=None, max_length=320)
    sender_phone: str | None = Field(default=None, max_length=40)
    subject: str | None = None
    text: str = ""
    html: str | None = None
    in_reply_to: list[str] = _json(list)
    location: dict[str, Any] | None = _json()
    category: str | None = Field(default=None, max_length=80)
    given: dict[str, Any] = _json(dict)
    channel_metadata: dict[str, Any] = _json(dict)
    raw: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    match_text: str | None = None
    language: str | None = Field(default=None, max_length=10)
    normalized: dict[str, Any] | None = _json()
    state: str = Field(default="received", max_length=20)
    state_reason: str | None = None
    attempts: int = 0
    ticket_id: int | None = Field(default=None, foreign_key="ticket.id", index=True)
    contact_id: int | None = Field(default=None, foreign_key="contact.id")
    created_at: datetime = _when()
    processed_at: datetime | None = _when(nullable=True)


class Attachment(Row, table=True):
    """A file that came with a message; bytes stored by content hash."""

    id: int | None = Field(default=None, primary_key=True)
    message_id: int = Field(foreign_key="message.id", index=True)
    name: str = Field(max_length=300)
    content_type: str = Field(max_length=120)
    size: int = Field(sa_column=Column(BigInteger, nullable=False))
    sha256: str | None = Field(default=None, max_length=64)
    stored_at: str | None = Field(default=None, max_length=200)
    note: str | None = None


class Event(Row, table=True):
    """An append-only record of a change: who or what, when, and why."""

    __table_args__ = (Index("ix_event_ticket_at", "ticket_id", "at"),)

    id: int | None = Field(default=None, primary_key=True)
    ticket_id: int | None = Field(default=None, foreign_key="ticket.id")
    message_id: int | None = Field(default=None, foreign_key="message.id", index=True)
    at: datetime = _when()
    actor: str = Field(max_length=120)
    type: str = Field(max_length=40)
    data: dict[str, Any] = _json(dict)


class ConnectorCursor(Row, table=True):
    """A channel account's watermark: IMAP UIDVALIDITY/UID, Telegram offset, X since_id."""

    __tablename__ = "connector_cursor"
    __table_args__ = (UniqueConstraint("channel", "account", name="uq_connector_cursor"),)

    id: int | None = Field(default=None, primary_key=True)
    channel: str = Field(max_length=40)
    account: str = Field(max_length=120)
    value: dict[str, Any] = _json(dict)
    updated_at: datetime = _when()


class ReferenceCounter(Row, table=True):
    """The last ticket reference number handed out in a year."""

    __tablename__ = "reference_counter"

    year: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    last: int = 0


class ReconcileRun(Row, table=True):
    """One night's ledger line for one channel account: what the source had, what we hold.

    Kept forever: the body's proof that nothing a citizen sent was lost.
    """

    __tablename__ = "reconcile_run"

    id: int | None = Field(default=None, primary_key=True)
    channel: str = Field(max_length=40, index=True)
    account: str = Field(max_length=120)
    window_start: datetime = _when()
    window_end: datetime = _when()
    started_at: datetime = _when()
    finished_at: datetime | None = _when(nullable=True)
    source_count: int | None = Field(default=None, description="None: the source can't list.")
    stored_count: int = 0
    backfilled: int = 0
    reprocessed: int = 0
    dead_lettered: int = 0
    late_duplicates: int = 0
    status: str = Field(default="running", max_length=20)
    errors: list[str] = _json(list)


class ChannelHealth(Row, table=True):
    """How a channel account's connector is doing: last success, last error, error count."""

    __tablename__ = "channel_health"
    __table_args__ = (UniqueConstraint("channel", "account", name="uq_channel_health"),)

    id: int | None = Field(default=None, primary_key=True)
    channel: str = Field(max_length=40)
    account: str = Field(max_length=120)
    last_success_at: datetime | None = _when(nullable=True)
    last_error_at: datetime | None = _when(nullable=True)
    last_error: str | None = None
    error_count: int = 0
    consecutive_errors: int = 0


class CallRecord(Row, table=True):
    """A call-centre call from the telephone system's records (Asterisk CDR)."""

    __tablename__ = "call_record"

    id: int | None = Field(default=None, primary_key=True)
    call_id: str = Field(max_length=150, unique=True, index=True)
    caller: str = Field(max_length=80)
    caller_e164: str | None = Field(default=None, max_length=20, index=True)
    destination: str = Field(max_length=80)
    started_at: datetime = _when(index=True)
    answered_at: datetime | None = _when(nullable=True)
    ended_at: datetime | None = _when(nullable=True)
    duration_s: int = 0
    billsec_s: int = 0
    disposition: str = Field(max_length=20)
    contact_id: int | None = Field(default=None, foreign_key="contact.id", index=True)
    ticket_id: int | None = Field(default=None, foreign_key="ticket.id")
    called_back_at: datetime | None = _when(nullable=True)


# --- The shared inbox: staff sessions, API tokens, log-in attempts, audit log, notes ---


class StaffSession(Row, table=True):
    """A logged-in browser: the cookie holds a random token, the table only its sha256."""

    __tablename__ = "staff_session"

    id: int | None = Field(default=None, primary_key=True)
    token_hash: str = Field(max_length=64, unique=True, index=True)
    user_id: int = Field(foreign_key="staff_user.id", index=True)
    created_at: datetime = _when()
    last_seen_at: datetime = _when()
    expires_at: datetime = _when()
    revoked_at: datetime | None = _when(nullable=True)
    ip: str | None = Field(default=None, max_length=64)
    user_agent: str | None = Field(default=None, max_length=300)


class ApiToken(Row, table=True):
    """A token for the app, Open311 clients and integrations; acts as its user, within scopes."""

    __tablename__ = "api_token"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=120)
    token_hash: str = Field(max_length=64, unique=True, index=True)
    prefix: str = Field(max_length=16)
    user_id: int = Field(foreign_key="staff_user.id", index=True)
    scopes: list[str] = _json(list)
    created_by_id: int | None = Field(default=None, foreign_key="staff_user.id")
    created_at: datetime = _when()
    last_used_at: datetime | None = _when(nullable=True)
    expires_at: datetime | None = _when(nullable=True)
    revoked_at: datetime | None = _when(nullable=True)


class LoginAttempt(Row, table=True):
    """One try at logging in; repeated failures lock the account for a while."""

    __tablename__ = "login_attempt"
    __table_args__ = (Index("ix_login_attempt_username_at", "username", "at"),)

    id: int | None = Field(default=None, primary_key=True)
    username: str = Field(max_length=120)
    at: datetime = _when()
    succeeded: bool = False
    ip: str | None = Field(default=None, max_length=64)


class AuditEntry(Row, table=True):
    """Who looked at a ticket's personal data or changed something, and when."""

    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_log_ticket_at", "ticket_id", "at"),)

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = _when(index=True)
    user_id: int | None = Field(default=None, foreign_key="staff_user.id")
    actor: str = Field(max_length=160)
    action: str = Field(max_length=40)
    ticket_id: int | None = Field(default=None, foreign_key="ticket.id")
    detail: dict[str, Any] = _json(dict)
    ip: str | None = Field(default=None, max_length=64)


class Note(Row, table=True):
    """An internal note on a ticket: staff see it, citizens never do."""

    id: int | None = Field(default=None, primary_key=True)
    ticket_id: int = Field(foreign_key="ticket.id", index=True)
    author_id: int | None = Field(default=None, foreign_key="staff_user.id")
    text: str
    created_at: datetime = _when()


class StaffTotp(Row, table=True):
    """A staff member's second factor (RFC 6238 time-based codes), once confirmed."""

    __tablename__ = "staff_totp"

    user_id: int = Field(
        foreign_key="staff_user.id", primary_key=True, sa_column_kwargs={"autoincrement": False}
    )
    secret: str = Field(max_length=64)
    confirmed_at: datetime | None = _when(nullable=True)
    last_step: int = 0


# --- Public channels: Open311 clients' keys, rate-limit counts ---


class Open311Key(Row, table=True):
    """An Open311 client's API key, issued and revoked by admins; only its sha256 is kept."""

    __tablename__ = "open311_key"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=120, unique=True, index=True)
    key_hash: str = Field(max_length=64, unique=True, index=True)
    prefix: str = Field(max_length=16)
    created_by_id: int | None = Field(default=None, foreign_key="staff_user.id")
    created_at: datetime = _when()
    last_used_at: datetime | None = _when(nullable=True)
    revoked_at: datetime | None = _when(nullable=True)
    #: A partner system that may post status updates to qanat's service requests.
    updates: bool = False


class RateCount(Row, table=True):
    """How often one address, phone or key acted in one time window (rate limits without Redis)."""

    __tablename__ = "rate_count"

    key: str = Field(max_length=200, primary_key=True)
    window_start: int = Field(
        sa_column=Column(BigInteger, primary_key=True, autoincrement=False, nullable=False)
    )
    count: int = 0


# Field inspections and federation keep their tables in modules of their own; importing
# them here registers them wherever the tables are.
from qanat.store import federation_tables, inspection_tables, notice_tables  # noqa: E402, F401
