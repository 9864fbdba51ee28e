"""The contract between qanat and a channel connector (built-in or a third-party plugin).

A connector package exposes one :class:`ConnectorSpec` through the entry-point group
``qanat.connectors``. For each configured account, qanat builds a connector with a
:class:`ConnectorContext` holding everything it needs — its validated settings, the
intake that saves messages, its watermark store, a health reporter, an HTTP client and
a clock — so a connector never reaches for globals.

Save-raw-first is qanat's job, not the plugin's: a webhook handler hands each message
to ``context.intake.save`` and answers only after it returned; a poller yields
:class:`Pulled` items and qanat saves each one before it stores the cursor that came
with it. See docs/connectors.md.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, NamedTuple, Protocol, runtime_checkable

import httpx
from pydantic import BaseModel

from qanat.model import Inbound, Reply, SentReply

#: Bumped when the contract changes incompatibly; plugins declare the version they target.
CONTRACT_VERSION = 1

#: What a connector may declare it can do; the inbox and the nightly job read these.
CAPABILITIES = frozenset(
    {"receive", "send", "attachments", "location", "edit", "list", "poll", "webhook"}
)


class SaveResult(NamedTuple):
    """The stored message's id, and whether this call created it (False: seen before)."""

    message_id: int
    created: bool


class Intake(Protocol):
    """Save-raw-first: commit an inbound message, then queue its processing."""

    async def save(self, inbound: Inbound) -> SaveResult:
        """Commit ``inbound`` (idempotent by channel, account, external id).

        Raises :class:`qanat.errors.ChannelUnavailable` when the store cannot commit,
        in which case the connector must not acknowledge its source.
        """
        ...

    async def dead_letter(self, inbound: Inbound, reason: str) -> SaveResult:
        """Commit a message that cannot be processed, straight to the dead-letter state."""
        ...

    async def hold(self, inbound: Inbound, reason: str) -> SaveResult:
        """Commit a message that is not processed on its own (one part of a long SMS)."""
        ...

    async def edit(self, inbound: Inbound) -> SaveResult:
        """Apply the sender's edit of a message stored before (same external id): its text
        changes and the ticket records the old and new text. Not stored yet: saved as new.
        """
        ...

    async def stored_texts(
        self, channel: str, account: str, external_ids: Sequence[str]
    ) -> dict[str, str]:
        """External id → text of the messages already stored (to reassemble parts)."""
        ...

    async def record_delivery(
        self, channel: str, account: str, external_id: str, status: str, detail: str | None
    ) -> bool:
        """Record a delivery receipt on one of our sent messages; False if unknown."""
        ...


class CursorStore(Protocol):
    """Per channel and account watermarks (IMAP UIDVALIDITY/UID, Telegram offset, X since_id)."""

    async def get(self, channel: str, account: str) -> dict[str, Any] | None:
        """The stored watermark, or None before the first poll."""
        ...

    async def put(self, channel: str, account: str, value: dict[str, Any]) -> None:
        """Store the watermark; call only after the messages it covers are committed."""
        ...


class HealthReporter(Protocol):
    """Where a connector reports each poll's or delivery's success or failure."""

    async def success(self, channel: str, account: str) -> None:
        """It worked."""
        ...

    async def failure(self, channel: str, account: str, error: str) -> None:
        """It failed, with a short reason (no secrets, no personal data)."""
        ...


@dataclass(frozen=True)
class WebhookRequest:
    """An HTTP request to ``/webhooks/{name}/{account}[/{path}]``, framework-free."""

    method: str
    url: str
    path: str
    headers: Mapping[str, str]
    query: Mapping[str, str]
    body: bytes

    def header(self, name: str) -> str | None:
        """A header's value, by case-insensitive name."""
        return self.headers.get(name.lower())


@dataclass(frozen=True)
class WebhookResponse:
    """What qanat answers the source (only after the messages are committed)."""

    status: int = 200
    body: bytes = b""
    content_type: str = "text/plain"
    headers: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Pulled:
    """One item a poller found: a message (or None for an event to skip), and the cursor
    to store once it is committed. ``dead_reason`` sends a malformed item to dead letters;
    ``edit`` marks a new version of a message sent before (capability ``edit``).
    """

    inbound: Inbound | None
    cursor: dict[str, Any]
    dead_reason: str | None = None
    edit: bool = False


@dataclass
class PollReport:
    """What one poll of one account did."""

    channel: str
    account: str
    saved: int = 0
    already_known: int = 0
    dead_lettered: int = 0
    skipped: int = 0
    edited: int = 0
    error: str | None = None


@dataclass
class ConnectorContext:
    """Everything a connector instance gets, for one configured account."""

    channel: str
    account: str
    config: BaseModel
    intake: Intake
    cursors: CursorStore
    health: HealthReporter
    http: httpx.AsyncClient
    clock: Callable[[], datetime]


@runtime_checkable
class Connector(Protocol):
    """One account of a channel. Implement the methods your capabilities declare.

    ``receive`` (capability ``webhook``), ``pull`` and ``poll_once`` (``poll``), ``send``
    (``send``), ``list_since`` and ``fetch`` (``list``). The ones you don't declare may
    raise ``NotImplementedError``. ``poll_once`` is what qanat's worker calls every
    minute: most pollers answer ``return await poll_account(self, self.context)``
    (:func:`qanat.ingest.polling.poll_account`: save each pulled item, then store its
    cursor); a source acknowledged per message after commit (IMAP) runs its own loop.
    """

    async def receive(self, request: WebhookRequest) -> WebhookResponse:
        """Handle a webhook delivery: save each message through the intake, then answer."""
        ...

    def pull(self, cursor: dict[str, Any] | None) -> AsyncIterator[Pulled]:
        """Yield what arrived since ``cursor``, each item with the cursor that follows it."""
        ...

    async def poll_once(self) -> PollReport | None:
        """One poll of this account, as the worker runs it every minute; None when the
        account does not poll now (a Telegram bot in webhook mode)."""
        ...

    async def send(self, reply: Reply) -> SentReply:
        """Deliver a staff reply on this channel."""
        ...

    async def list_since(self, since: datetime) -> list[str]:
        """External ids the source holds since ``since`` (for reconciliation)."""
        ...

    def fetch(self, external_ids: Sequence[str]) -> AsyncIterator[Inbound]:
        """The messages with these ids, as they would have been received."""
        ...


@dataclass(frozen=True)
class ConnectorSpec:
    """What a connector package registers under the entry-point group ``qanat.connectors``."""

    name: str
    version: str
    contract_version: int
    capabilities: frozenset[str]
    config_model: type[BaseModel]
    build: Callable[[ConnectorContext], Connector]
    description: str = ""
    secret_fields: frozenset[str] = frozenset()
