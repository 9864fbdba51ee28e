"""Email connector fixtures: an in-memory intake and cursor store, a real Dovecot."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from qanat.errors import ChannelUnavailable
from qanat.ingest.base import SaveResult
from qanat.model import Inbound


class MemoryIntake:
    """The intake contract in memory: idempotent by (channel, account, external id).

    Set ``down`` to make every save fail as a store outage would, or put external ids
    in ``failing`` to fail only those.
    """

    def __init__(self) -> None:
        self.saved: dict[tuple[str, str, str], Inbound] = {}
        self.ids: dict[tuple[str, str, str], int] = {}
        self.dead: dict[tuple[str, str, str], str] = {}
        self.attempts = 0
        self.down = False
        self.failing: set[str] = set()
        self.threads: list[int] = []

    async def save(self, inbound: Inbound) -> SaveResult:
        """Commit ``inbound`` once; later calls with the same key report it as known."""
        self.attempts += 1
        self.threads.append(threading.get_ident())
        if self.down or inbound.external_id in self.failing:
            raise ChannelUnavailable("the store is down (test)")
        key = (inbound.channel, inbound.account, inbound.external_id)
        if key in self.ids:
            return SaveResult(self.ids[key], False)
        self.ids[key] = len(self.ids) + 1
        self.saved[key] = inbound
        return SaveResult(self.ids[key], True)

    async def dead_letter(self, inbound: Inbound, reason: str) -> SaveResult:
        """Commit a message straight to the dead letters, with its reason."""
        result = await self.save(inbound)
        self.dead[(inbound.channel, inbound.account, inbound.external_id)] = reason
        return result

    @property
    def messages(self) -> list[Inbound]:
        """Everything committed, in order."""
        return list(self.saved.values())


class MemoryCursors:
    """The cursor store contract in memory."""

    def __init__(self) -> None:
        self.values: dict[tuple[str, str], dict[str, Any]] = {}
        self.puts = 0

    async def get(self, channel: str, account: str) -> dict[str, Any] | None:
        """The stored watermark, or None."""
        value = self.values.get((channel, account))
        return dict(value) if value is not None else None

    async def put(self, channel: str, account: str, value: dict[str, Any]) -> None:
        """Store the watermark."""
        self.puts += 1
        self.values[(channel, account)] = dict(value)


@pytest.fixture
def intake() -> MemoryIntake:
    """A fresh in-memory intake."""
    return MemoryIntake()


@pytest.fixture
def cursors() -> MemoryCursors:
    """A fresh in-memory cursor store."""
    return MemoryCursors()
