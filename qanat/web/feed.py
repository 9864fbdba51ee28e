"""One change feed per process for the live pages: the newest event id, watched once.

A task reads ``max(event.id)`` every ``every`` seconds while at least one stream is
open, and wakes the streams waiting on it when it moves; it stops with the last stream.
So open pages cost the store one tiny query a second per process, not one per page, and
a page asks for its viewer's events only after something was written.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import Counter
from collections.abc import AsyncIterator
from typing import Any

from sqlalchemy import func
from sqlmodel import col, select

from qanat.errors import TooManyRequests
from qanat.store.db import Database
from qanat.store.tables import Event

log = logging.getLogger(__name__)

#: Live streams one person may hold at once (tabs, devices); more are refused with 429.
STREAMS_PER_USER = 5


class ChangeFeed:
    """The newest event id, watched by one task while anyone listens."""

    def __init__(self, db: Database, *, every: float) -> None:
        self._db = db
        self.every = every
        self.latest = -1
        self._changed = asyncio.Condition()
        self._listeners: Counter[int] = Counter()
        self._watcher: asyncio.Task[None] | None = None

    def admit(self, user_id: int) -> None:
        """Refuse a stream over :data:`STREAMS_PER_USER` for this person."""
        if self._listeners[user_id] >= STREAMS_PER_USER:
            raise TooManyRequests(
                f"at most {STREAMS_PER_USER} live streams per person", retry_after=30
            )

    @contextlib.asynccontextmanager
    async def subscribed(self, user_id: int) -> AsyncIterator[None]:
        """Listen for the duration of the block (the watcher runs while anyone does)."""
        self.admit(user_id)
        self._listeners[user_id] += 1
        if self._watcher is None or self._watcher.done():
            self._watcher = asyncio.create_task(self._watch(), name="change-feed")
        try:
            yield
        finally:
            self._listeners[user_id] -= 1
            if self._listeners[user_id] <= 0:
                del self._listeners[user_id]
            if not self._listeners and self._watcher is not None:
                self._watcher.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await self._watcher
                self._watcher = None

    async def wait_past(self, seen: int, *, within: float) -> int:
        """The newest event id once it is past ``seen``, or after ``within`` seconds as it is."""
        if self.latest < 0:
            await self._read()
        if self.latest > seen:
            return self.latest
        async with self._changed:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait_for(lambda: self.latest > seen), within)
        return self.latest

    async def _read(self) -> None:
        try:
            async with self._db.session() as session:
                newest = (await session.execute(select(func.max(col(Event.id))))).scalar_one()
        except Exception as exc:  # the store away: the pages keep waiting
            log.warning("change feed: the store did not answer (%s)", type(exc).__name__)
            return
        latest = int(newest or 0)
        if latest != self.latest:
            self.latest = latest
            async with self._changed:
                self._changed.notify_all()

    async def _watch(self) -> None:
        while True:
            await self._read()
            await asyncio.sleep(self.every)


def feed_of(state: Any, db: Database, *, every: float) -> ChangeFeed:
    """This app's change feed (made on first use)."""
    feed: ChangeFeed | None = getattr(state, "change_feed", None)
    if feed is None:
        feed = state.change_feed = ChangeFeed(db, every=every)
    return feed
