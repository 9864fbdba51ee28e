"""Dedupe against the store: the lock, candidates, linking and unlinking, recurrences, sweep.

Candidates are open primary tickets of the same block (or, without a block, of the same
category in the last days) inside the time window, read through the block index: a
decision never scans all open tickets. The decision is taken under a lock per block so
two workers never both open a primary for the same problem.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from qanat.dedupe.similarity import DEFAULT_THRESHOLD, Report, combined_score, features
from qanat.model import OPEN_STATUSES, DuplicateDecision, Location, TicketStatus
from qanat.store import queries
from qanat.store.tables import Ticket, utcnow

if TYPE_CHECKING:
    from qanat.runtime import Runtime

#: How far back an open ticket can be the primary of a new one.
WINDOW = timedelta(days=14)
#: Without a block, only this recent a ticket is a candidate.
PLACELESS_WINDOW = timedelta(days=3)
#: A resolved ticket of the same place and category this recent makes a recurrence.
RECURRENCE_WINDOW = timedelta(days=60)
#: At most this many candidates are scored per decision.
CANDIDATE_LIMIT = 200


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


def report_of(ticket: Ticket, departments: dict[int, str] | None = None) -> Report:
    """A stored ticket as dedupe compares it (``departments``: id → code)."""
    department = (departments or {}).get(ticket.department_id or -1)
    return Report(
        match_text=ticket.match_text,
        created_at=ticket.created_at,
        block=ticket.block,
        road=ticket.road,
        building=ticket.building,
        category=ticket.category,
        department=department if ticket.category else None,
        lat=ticket.lat,
        lon=ticket.lon,
        contact_id=ticket.contact_id,
    )


async def candidates(
    session: AsyncSession,
    *,
    new: Report,
    statuses: tuple[str, ...],
    since: datetime,
    exclude: int | None = None,
) -> list[Ticket]:
    """Primary tickets that could be about the same problem (bounded by place and time)."""
    statement = (
        select(Ticket)
        .where(
            col(Ticket.primary_ticket_id).is_(None),
            col(Ticket.status).in_(statuses),
            col(Ticket.created_at) >= since,
            # Messages are not always processed in the order they were sent.
            col(Ticket.created_at) <= new.created_at + WINDOW,
        )
        .order_by(col(Ticket.created_at).desc())
        .limit(CANDIDATE_LIMIT)
    )
    if exclude is not None:
        statement = statement.where(col(Ticket.id) != exclude)
    if new.block:
        statement = statement.where(col(Ticket.block) == new.block)
    elif new.category:
        statement = statement.where(
            col(Ticket.category) == new.category,
            col(Ticket.created_at) >= new.created_at - PLACELESS_WINDOW,
        )
    else:
        return []
    return list((await session.execute(statement)).scalars())


async def find_duplicate(
    session: AsyncSession,
    *,
    new: Report,
    threshold: float = DEFAULT_THRESHOLD,
    exclude: int | None = None,
) -> DuplicateDecision:
    """The open primary ticket this report repeats, with the evidence, or none."""
    open_statuses = tuple(s.value for s in OPEN_STATUSES)
    departments = {id_: code for code, id_ in (await queries.department_ids(session)).items()}
    best: tuple[float, Ticket, dict[str, object]] | None = None
    for ticket in await candidates(
        session, new=new, statuses=open_statuses, since=new.created_at - WINDOW, exclude=exclude
    ):
        evidence = features(new, report_of(ticket, departments))
        score = combined_score(evidence)
        if best is None or score > best[0]:
            best = (score, ticket, evidence)
    if best is None or best[0] < threshold:
        return DuplicateDecision(
            primary_ticket_id=None, score=best[0] if best else 0.0, threshold=threshold
        )
    return DuplicateDecision(
        primary_ticket_id=best[1].id, score=best[0], threshold=threshold, features=best[2]
    )


async def find_recurrence(session: AsyncSession, *, new: Report) -> list[Ticket]:
    """Resolved tickets of the same place and category, recently: the problem is back."""
    if not (new.block and new.category):
        return []
    done = (TicketStatus.resolved.value, TicketStatus.closed.value)
    history = await candidates(
        session, new=new, statuses=done, since=new.created_at - RECURRENCE_WINDOW
    )
    return [
        t
        for t in history
        if t.category == new.category and (new.road is None or t.road in (None, new.road))
    ]


async def link(
    session: AsyncSession,
    *,
    ticket: Ticket,
    primary: Ticket,
    decision: DuplicateDecision,
    actor: str = "dedupe",
) -> None:
    """Make ``ticket`` a duplicate of ``primary``: the primary's department carries the work."""
    ticket.primary_ticket_id = primary.id
    ticket.department_id = primary.department_id
    ticket.needs_triage = False
    ticket.updated_at = utcnow()
    await queries.add_event(
        session,
        actor=actor,
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
        actor=actor,
        type="duplicate_reported",
        ticket_id=primary.id,
        data={
            "duplicate_ticket_id": ticket.id,
            "duplicate_reference": ticket.reference,
            "channel": ticket.channel,
        },
    )


async def unlink(session: AsyncSession, *, ticket: Ticket, actor: str, reason: str) -> None:
    """Make a duplicate independent again (staff correction, kept as a labelled pair)."""
    if ticket.primary_ticket_id is None:
        return
    primary_id, ticket.primary_ticket_id = ticket.primary_ticket_id, None
    ticket.updated_at = utcnow()
    await queries.add_event(
        session,
        actor=actor,
        type="unlinked_duplicate",
        ticket_id=ticket.id,
        data={"primary_ticket_id": primary_id, "reason": reason, "label": 0},
    )


async def mark_recurring(session: AsyncSession, *, ticket: Ticket, history: list[Ticket]) -> None:
    """Flag a ticket as a recurring problem, linked to its earlier tickets."""
    ticket.flags = sorted({*ticket.flags, "recurring"})
    await queries.add_event(
        session,
        actor="dedupe",
        type="recurring",
        ticket_id=ticket.id,
        data={
            "earlier": [t.reference for t in history],
            "category": ticket.category,
            "block": ticket.block,
        },
    )


async def sweep(session: AsyncSession, *, since: datetime) -> list[tuple[str, str]]:
    """Re-examine primaries created since ``since`` for duplicates missed concurrently.

    Returns (duplicate, primary) references linked. Each ticket is compared only with
    older open primaries, so a pair is linked one way, to the older ticket.
    """
    statement = (
        select(Ticket)
        .where(
            col(Ticket.primary_ticket_id).is_(None),
            col(Ticket.created_at) >= since,
            col(Ticket.status).in_([s.value for s in OPEN_STATUSES]),
        )
        .order_by(col(Ticket.created_at))
    )
    linked: list[tuple[str, str]] = []
    departments = {id_: code for code, id_ in (await queries.department_ids(session)).items()}
    for ticket in (await session.execute(statement)).scalars().all():
        if ticket.primary_ticket_id is not None:
            continue
        report = report_of(ticket, departments)
        decision = await find_duplicate(session, new=report, exclude=ticket.id)
        primary = (
            await session.get(Ticket, decision.primary_ticket_id)
            if decision.primary_ticket_id
            else None
        )
        if primary is None or (primary.created_at, primary.id or 0) > (
            ticket.created_at,
            ticket.id or 0,
        ):
            continue
        if decision.features.get("same_contact"):
            continue  # a citizen's second ticket stays theirs; staff may merge it
        await link(session, ticket=ticket, primary=primary, decision=decision, actor="sweep")
        linked.append((ticket.reference, primary.reference))
    return linked
