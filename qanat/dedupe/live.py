"""A worker's candidate index, loaded from the store at start-up and kept current from events.

Every change to a ticket is an event row, and event ids only grow, so a worker reads the
events after the last id it saw and re-reads the tickets they name: a new ticket, a
closed one, an unlinked duplicate, a transfer. The service does this inside the dedupe
lock, just before deciding, so the decision sees every ticket other workers committed.

One catch: PostgreSQL hands out ids when rows are inserted, not when transactions
commit, so a slow transaction can commit id 41 after id 42 was read. An id missing
between two that were read is a *gap*; gaps are read again at each catch-up until they
appear or :data:`GAP_SECONDS` pass (the transaction rolled back). Within one block
there is no race at all: its tickets are all created under its lock.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import time
from collections.abc import AsyncIterator, Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import Select, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from qanat.dedupe.index import CandidateIndex, Entry, entry_of
from qanat.dedupe.pair_model import PairModelFile
from qanat.dedupe.similarity import Report
from qanat.dedupe.snapshot import Header, code_mark, read_entries, read_header, write_snapshot
from qanat.model import OPEN_STATUSES
from qanat.store.tables import Department, Event, Ticket

#: How long a missing event id is read again before it is taken for a rollback.
GAP_SECONDS = 600.0
#: At start-up, this many of the last event ids are checked for gaps.
STARTUP_LOOKBACK = 10_000
#: Tickets re-read per query.
BATCH = 500
#: An index of fewer open tickets is not kept in a snapshot (it loads in about a second).
SNAPSHOT_FROM = 10_000
_OPEN = [s.value for s in OPEN_STATUSES]

log = logging.getLogger(__name__)


def _entry_columns() -> Select[*tuple[Any, ...]]:
    return select(
        col(Ticket.id),
        col(Ticket.match_text),
        col(Ticket.created_at),
        col(Ticket.block),
        col(Ticket.road),
        col(Ticket.building),
        col(Ticket.category),
        col(Department.code),
        col(Ticket.lat),
        col(Ticket.lon),
        col(Ticket.contact_id),
        col(Ticket.area),
        col(Ticket.kind),
        col(Ticket.status),
        col(Ticket.primary_ticket_id),
    ).outerjoin(Department, col(Department.id) == col(Ticket.department_id))


def report_of(ticket: Any, department: str | None) -> Report:
    """A stored ticket (a :class:`Ticket` or a row of its columns) as dedupe compares it;
    ``department`` is the code of its department."""
    return Report(
        match_text=ticket.match_text,
        created_at=ticket.created_at,
        block=ticket.block,
        road=ticket.road,
        building=ticket.building,
        category=ticket.category,
        # A department says what the problem is only when a category named it.
        department=department if ticket.category else None,
        lat=ticket.lat,
        lon=ticket.lon,
        contact_id=ticket.contact_id,
        area=ticket.area,
        kind=ticket.kind,
    )


def _entry(row: Any) -> Entry:
    return entry_of(report_of(row, row.code))


def _is_candidate(row: Any) -> bool:
    return row.primary_ticket_id is None and row.status in _OPEN


async def open_entries(session: AsyncSession) -> AsyncIterator[tuple[int, Entry]]:
    """Every open primary ticket, as index entries (streamed)."""
    statement = _entry_columns().where(
        col(Ticket.primary_ticket_id).is_(None), col(Ticket.status).in_(_OPEN)
    )
    result = await session.stream(
        statement.order_by(col(Ticket.id)).execution_options(yield_per=5000)
    )
    async for row in result:
        yield row.id, _entry(row)


async def load_index(session: AsyncSession) -> CandidateIndex:
    """A candidate index of every open primary ticket in the store."""
    with _collection_paused():
        return CandidateIndex.of([found async for found in open_entries(session)])


@contextmanager
def _collection_paused() -> Iterator[None]:
    """Python's cycle collector paused while an index of a million objects is made: none
    of them is garbage yet, and collecting walks them all again and again (measured: a
    snapshot read in 5.0 s instead of 8.4)."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


@dataclass
class LiveIndex:
    """One process's candidate index and how far it has read the store's events."""

    index: CandidateIndex = field(default_factory=CandidateIndex)
    #: The pair model this process decides with (a body's own; none: the table).
    model_file: PairModelFile = field(default_factory=lambda: PairModelFile(None))
    last_event_id: int | None = None
    gaps: dict[int, float] = field(default_factory=dict)
    clock: Callable[[], float] = time.monotonic
    #: Where the index is kept between runs (:mod:`qanat.dedupe.snapshot`); None: nowhere.
    snapshot: Path | None = None
    #: Smaller indexes load from the store in about a second: they are not kept.
    snapshot_from: int = SNAPSHOT_FROM
    _lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    _saving: asyncio.Lock = field(default_factory=asyncio.Lock)
    #: The last event id the snapshot file holds the index at (None: not known to).
    _kept_at: int | None = None

    @property
    def loaded(self) -> bool:
        """Whether the index was read from the store yet."""
        return self.last_event_id is not None

    async def ready(self, session: AsyncSession) -> None:
        """Load the index unless it is loaded (a worker does it at start-up): from its
        snapshot when there is one the store still agrees with, else from the store."""
        if self.loaded:
            return
        started = time.perf_counter()
        restored = await self._restore(session)
        if restored:
            await self.catch_up(session)  # what changed while the worker was away
        else:
            await self.load(session, again=False)
        log.info(
            "dedupe index ready %s in %.1f s: %d open tickets",
            "from its snapshot" if restored else "from the store",
            time.perf_counter() - started,
            len(self.index),
        )
        if not restored:
            await self.save(session)  # kept from snapshot_from tickets on (save decides)

    async def load(self, session: AsyncSession, *, again: bool = True) -> None:
        """Read every open primary from the store; ``again=False`` keeps a loaded index."""
        async with self._lock:
            if self.loaded and not again:
                return
            last = (await session.execute(select(func.max(col(Event.id))))).scalar_one() or 0
            start = max(last - STARTUP_LOOKBACK, 0)
            present = set(
                (
                    await session.execute(select(col(Event.id)).where(col(Event.id) > start))
                ).scalars()
            )
            now = self.clock()
            self.gaps = {i: now for i in range(start + 1, last + 1) if i not in present}
            # Events from here on are applied again by catch_up: re-reading is harmless.
            self.index = await load_index(session)
            self.last_event_id = last

    async def save(self, session: AsyncSession) -> bool:
        """Keep the index in its snapshot file, as it stands (a worker does it after
        loading from the store, nightly and when it stops); whether it is kept."""
        if self.snapshot is None or not self.loaded or len(self.index) < self.snapshot_from:
            return False
        async with self._saving:  # one at a time: a stop may come while the first is written
            async with self._lock:
                assert self.last_event_id is not None
                if self.last_event_id == self._kept_at:
                    return True  # nothing read since it was kept
                code = code_mark()
                last = await _event_mark(session, self.last_event_id)
                if code is None or last is None:
                    return False
                header = Header(
                    code=code,
                    last_event_id=self.last_event_id,
                    last_event=last,
                    gaps=tuple(sorted(self.gaps)),
                    count=len(self.index),
                )
                tickets = list(self.index.entries.items())  # entries never change: a copy
            try:
                await asyncio.to_thread(write_snapshot, self.snapshot, header, tickets)
            except OSError as exc:
                log.warning("the dedupe index could not be kept (%s)", type(exc).__name__)
                return False
            self._kept_at = header.last_event_id
            return True

    async def _restore(self, session: AsyncSession) -> bool:
        if self.snapshot is None:
            return False
        header = await asyncio.to_thread(read_header, self.snapshot)
        code = code_mark()
        if header is None or code is None or header.code != code:
            return False
        if await _event_mark(session, header.last_event_id) != header.last_event:
            return False  # another database, or one restored from an earlier backup
        with _collection_paused():
            tickets = await asyncio.to_thread(read_entries, self.snapshot, header.count)
            if tickets is None:
                return False
            async with self._lock:
                if self.loaded:
                    return True
                self.index = CandidateIndex.of(tickets)
            now = self.clock()
            self.gaps = dict.fromkeys(header.gaps, now)
            self.last_event_id = self._kept_at = header.last_event_id
        return True

    async def catch_up(self, session: AsyncSession) -> int:
        """Apply what changed in the store since the last read; returns tickets re-read."""
        await self.ready(session)
        async with self._lock:
            assert self.last_event_id is not None
            seen = select(col(Event.id), col(Event.ticket_id)).where(
                or_(col(Event.id) > self.last_event_id, col(Event.id).in_(list(self.gaps)))
                if self.gaps
                else col(Event.id) > self.last_event_id
            )
            rows = (await session.execute(seen)).all()
            self._note_gaps([event_id for event_id, _t in rows if event_id is not None])
            touched = {ticket_id for _e, ticket_id in rows if ticket_id is not None}
            await self.refresh(session, touched)
            return len(touched)

    def _note_gaps(self, event_ids: list[int]) -> None:
        assert self.last_event_id is not None
        now = self.clock()
        read = set(event_ids)
        newest = max(read, default=self.last_event_id)
        for missing in range(self.last_event_id + 1, newest):
            if missing not in read:
                self.gaps[missing] = now
        self.gaps = {
            i: since
            for i, since in self.gaps.items()
            if i not in read and now - since < GAP_SECONDS
        }
        self.last_event_id = max(newest, self.last_event_id)

    async def refresh(self, session: AsyncSession, ticket_ids: Iterable[int]) -> None:
        """Re-read these tickets: open primaries are (re)filed, the others dropped."""
        wanted = sorted(set(ticket_ids))
        for start in range(0, len(wanted), BATCH):
            batch = wanted[start : start + BATCH]
            statement = _entry_columns().where(col(Ticket.id).in_(batch))
            found = {row.id: row for row in await session.execute(statement)}
            for ticket_id in batch:
                row = found.get(ticket_id)
                if row is not None and _is_candidate(row):
                    self.index.put(ticket_id, _entry(row))
                else:
                    self.index.discard(ticket_id)


async def _event_mark(session: AsyncSession, event_id: int) -> tuple[int | None, str] | None:
    """The ticket and time an event records: with its id, a store's fingerprint."""
    found = (
        await session.execute(
            select(col(Event.ticket_id), col(Event.at)).where(col(Event.id) == event_id)
        )
    ).first()
    return None if found is None else (found.ticket_id, found.at.isoformat())
