"""What the learned model learns from the store: past tickets and staff corrections.

A transfer is a correction: staff moved the ticket to the department that owns the work,
and the ``transferred`` event (``correction: true``) keeps it for good. Training reads
each ticket's current department, so a corrected ticket teaches its corrected
department. Tickets whose department only the learned model chose, and that nobody has
confirmed since (no transfer, not resolved), are left out: the model would otherwise
learn from its own guesses.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from qanat.model import TicketStatus
from qanat.router.training import CORRECTION_WEIGHT, Example
from qanat.store.tables import Department, Event, Ticket

#: Statuses in which staff have handled a ticket: its department stands confirmed.
HANDLED = (TicketStatus.resolved.value, TicketStatus.closed.value)


@dataclass
class TrainingSet:
    """Training examples, and how many of them are staff corrections (which weigh
    :data:`~qanat.router.training.CORRECTION_WEIGHT` times an ordinary example)."""

    examples: list[Example] = field(default_factory=list)
    corrections: int = 0
    unconfirmed_guesses: int = 0


async def _ticket_ids(session: AsyncSession, event_type: str) -> set[int]:
    rows = await session.execute(
        select(Event.ticket_id).where(col(Event.type) == event_type).distinct()
    )
    return {ticket_id for ticket_id in rows.scalars() if ticket_id is not None}


async def _learned_guesses(session: AsyncSession) -> set[int]:
    """Tickets the learned model routed (the ``routed`` event's basis, or its reason in
    events recorded before the basis was)."""
    rows = await session.execute(
        select(Event.ticket_id, Event.data).where(col(Event.type) == "routed")
    )
    return {
        ticket_id
        for ticket_id, data in rows
        if ticket_id is not None
        and (data.get("basis") == "learned" or str(data.get("reason", "")).startswith("learned"))
    }


async def training_examples(session: AsyncSession) -> TrainingSet:
    """Every primary ticket with a confirmed department, as a training example."""
    corrected = await _ticket_ids(session, "transferred")
    guessed = await _learned_guesses(session)
    rows = await session.execute(
        select(Ticket.id, Ticket.match_text, Ticket.status, Department.code)
        .join(Department, col(Department.id) == col(Ticket.department_id))
        .where(col(Ticket.primary_ticket_id).is_(None), col(Ticket.needs_triage).is_(False))
        .order_by(col(Ticket.id))
    )
    found = TrainingSet()
    for ticket_id, match_text, status, department in rows:
        if not match_text:
            continue
        if ticket_id in guessed and ticket_id not in corrected and status not in HANDLED:
            found.unconfirmed_guesses += 1
            continue
        corrected_here = ticket_id in corrected
        weight = CORRECTION_WEIGHT if corrected_here else 1.0
        found.examples.append(Example(match_text, department, weight))
        found.corrections += int(corrected_here)
    return found
