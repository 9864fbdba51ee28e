"""The SLA clock resumes: when a pending ticket's citizen answers (or staff reopen it),
its due and warning times are counted again without the time it waited on them.

The store keeps the pauses when the status changes
(:func:`qanat.store.actions.apply_status`); this counts the clocks again on the
department's calendar and records why the due time moved.
"""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from qanat.model import Kind, Priority
from qanat.router.rules import RoutingRules
from qanat.router.sla import clocks_now, pauses_from
from qanat.store import queries
from qanat.store.tables import Department, Ticket


async def resume_clock(
    session: AsyncSession, *, rules: RoutingRules, tz: ZoneInfo, ticket: Ticket, actor: str
) -> None:
    """Count the ticket's due times again without its pauses; an event shows the new ones."""
    department = (
        await session.get(Department, ticket.department_id) if ticket.department_id else None
    )
    if department is None or not ticket.sla_pauses:
        return
    pauses = pauses_from(ticket.sla_pauses)
    clocks = clocks_now(
        rules,
        department=department.code,
        kind=Kind(ticket.kind),
        priority=Priority(ticket.priority),
        start=ticket.created_at,
        tz=tz,
        pauses=pauses,
    )
    if clocks.sla_due_at is None:
        return  # no SLA row applies to this ticket
    ticket.first_response_due_at = clocks.first_response_due_at
    ticket.first_response_warn_at = clocks.first_response_warn_at
    ticket.sla_due_at = clocks.sla_due_at
    ticket.sla_warn_at = clocks.sla_warn_at
    paused_from, paused_to = pauses[-1]
    await queries.add_event(
        session,
        actor=actor,
        type="sla_resumed",
        ticket_id=ticket.id,
        data={
            "paused_from": _iso(paused_from),
            "paused_to": _iso(paused_to),
            "first_response_due_at": _iso(ticket.first_response_due_at),
            "sla_due_at": _iso(ticket.sla_due_at),
        },
    )


def _iso(value: datetime | None) -> str | None:
    return value.astimezone(UTC).isoformat() if value else None
