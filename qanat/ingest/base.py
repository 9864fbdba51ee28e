"""The contract between qanat and a channel connector.

A connector turns what a channel delivers into :class:`~qanat.model.Inbound` records and
hands each to an :class:`Intake`, which commits the raw message before returning; only
then may the connector acknowledge its source (HTTP 2xx, IMAP flag, Telegram offset,
SMTP 250). Everything a connector needs is handed in; it never reaches for globals.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any, NamedTuple, Protocol, runtime_checkable

from qanat.model import Inbound, Reply, SentReply

#: Bumped when the contract changes incompatibly; plugins declare the version they target.
CONTRACT_VERSION = 1


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


class CursorStore(Protocol):
    """Per channel and account watermarks (IMAP UIDVALIDITY/UID, Telegram offset, X since_id)."""

    async def get(self, channel: str, account: str) -> dict[str, Any] | None:
        """The stored watermark, or None before the first poll."""
        ...

    async def put(self, channel: str, account: str, value: dict[str, Any]) -> None:
        """Store the watermark; call only after the messages it covers are committed."""
        ...


@runtime_checkable
class Connector(Protocol):
    """What every channel connector offers; optional parts are flagged in capabilities."""

    name: str
    capabilities: frozenset[str]

    def pull(self, cursor: dict[str, Any] | None) -> AsyncIterator[Inbound]:
        """Yield what arrived since ``cursor`` (polled channels only)."""
        ...

    async def send(self, reply: Reply) -> SentReply:
        """Deliver a staff reply on this channel."""
        ...

    async def list_since(self, since: datetime) -> list[str]:
        """External ids the source holds since ``since`` (for reconciliation)."""
        ...
