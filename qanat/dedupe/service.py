"""Dedupe against the store: the lock around the decision, finding and linking primaries."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from qanat.model import DuplicateDecision, Location, Normalized
from qanat.store import queries
from qanat.store.tables import Ticket

if TYPE_CHECKING:
    from qanat.runtime import Runtime

#: Score recorded for an exact match of the match text.
EXACT_MATCH_SCORE = 100.0


def lock_scope(location: Location | None) -> str:
    """What two concurrent decisions must not both decide at once: one place's tickets."""
    block = location.block if location and location.block else "-"
    return f"dedupe:block:{block}"


@asynccontextmanager
async def decision_lock(
    session: AsyncSession, *, runtime: Runtime, location: Location | None
) -> AsyncIterator[None]:
    """Hold the dedupe lock for a place until the transaction ends.

    PostgreSQL: a transaction-level advisory lock, so two workers on two machines never
    both open a primary for the same problem. SQLite: writes are already serialized by
    :meth:`qanat.store.db.Database.writing`, which qanat uses in one process only.
    """
    if not runtime.db.is_sqlite:
        key = queries.advisory_key(lock_scope(location))
        await session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": key})
    yield


async def find_duplicate(session: AsyncSession, *, normalized: Normalized) -> DuplicateDecision:
    """The open primary ticket this message repeats, by exact match text."""
    if not normalized.match_text:
        return DuplicateDecision(primary_ticket_id=None)
    primary = await queries.open_primary_with_text(session, match_text=normalized.match_text)
    if primary is None:
        return DuplicateDecision(primary_ticket_id=None)
    return DuplicateDecision(
        primary_ticket_id=primary.id,
        score=EXACT_MATCH_SCORE,
        threshold=EXACT_MATCH_SCORE,
        features={"same_text": True},
    )


async def link(
    session: AsyncSession, *, ticket: Ticket, primary: Ticket, decision: DuplicateDecision
) -> None:
    """Make ``ticket`` a duplicate of ``primary``: the primary's department carries the work."""
    ticket.primary_ticket_id = primary.id
    ticket.department_id = primary.department_id
    ticket.needs_triage = False
    await queries.add_event(
        session,
        actor="dedupe",
        type="linked_duplicate",
        ticket_id=ticket.id,
        data={
            "primary_ticket_id": primary.id,
            "primary_reference": primary.reference,
            **decision.model_dump(mode="json", exclude={"primary_ticket_id"}),
        },
    )
    await queries.add_event(
        session,
        actor="dedupe",
        type="duplicate_reported",
        ticket_id=primary.id,
        data={
            "duplicate_ticket_id": ticket.id,
            "duplicate_reference": ticket.reference,
            "channel": ticket.channel,
        },
    )
