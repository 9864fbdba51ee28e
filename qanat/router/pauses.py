"""The SLA clocks counted again: when a pending ticket's citizen answers (or staff reopen
it), and when staff move a ticket to another department or change its kind or priority.

The store keeps the pauses when the status changes
(:func:`qanat.store.actions.apply_status`); this counts the due and warning times again
from the ticket's first message on the calendar and SLA rows that now apply, without
the time it waited on the citizen, and records why the due time moved.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from qanat.model import Kind, Priority
from qanat.router.rules import RoutingRules
from qanat.router.sla import SlaClocks, clocks_now, pauses_from
from qanat.store import queries
from qanat.store.tables import Department, Ticket

#: The ticket's columns a recount sets, in the order events show them.
_CLOCK_FIELDS = ("first_response_due_at", "first_response_warn_at", "sla_due_at", "sla_warn_at")


async def _recounted(
    session: AsyncSession,
    *,
    rules: RoutingRules,
    tz: ZoneInfo,
    ticket: Ticket,
    start: datetime | None = None,
    pauses: bool = True,
) -> SlaClocks | None:
    """The ticket's clocks as the rules now count them from ``start`` (its creation by
    default), its pauses skipped unless ``pauses`` is False (None: no department or SLA
    row)."""
    department = (
        await session.get(Department, ticket.department_id) if ticket.department_id else None
    )
    if department is None:
        return None
    clocks = clocks_now(
        rules,
        department=department.code,
        kind=Kind(ticket.kind),
        priority=Priority(ticket.priority),
        start=start or ticket.created_at,
        tz=tz,
        pauses=pauses_from(ticket.sla_pauses) if pauses else (),
    )
    return None if clocks.sla_due_at is None else clocks


def _apply(ticket: Ticket, clocks: SlaClocks) -> bool:
    """Set the ticket's clocks; True when any of them moved."""
    moved = False
    for name in _CLOCK_FIELDS:
        value = getattr(clocks, name)
        if getattr(ticket, name) != value:
            setattr(ticket, name, value)
            moved = True
    return moved


async def resume_clock(
    session: AsyncSession, *, rules: RoutingRules, tz: ZoneInfo, ticket: Ticket, actor: str
) -> None:
    """Count the ticket's due times again without its pauses; an event shows the new ones."""
    if not ticket.sla_pauses:
        return
    clocks = await _recounted(session, rules=rules, tz=tz, ticket=ticket)
    if clocks is None:
        return  # no SLA row applies to this ticket
    _apply(ticket, clocks)
    paused_from, paused_to = pauses_from(ticket.sla_pauses)[-1]
    await queries.add_event(
        session,
        actor=actor,
        type="sla_resumed",
        ticket_id=ticket.id,
        data={"paused_from": _iso(paused_from), "paused_to": _iso(paused_to), **_due(ticket)},
    )


async def recount_clocks(
    session: AsyncSession,
    *,
    rules: RoutingRules,
    tz: ZoneInfo,
    ticket: Ticket,
    actor: str,
    reason: str,
) -> bool:
    """After a transfer or a change of kind or priority: the SLA that now applies.

    The clock still starts at the first message (the citizen has waited since then)
    and leaves out the pauses. An ``sla_recounted`` event says why, with the old and
    new due times; a ticket whose department has no SLA row keeps its clocks. Returns
    whether a due time moved.
    """
    clocks = await _recounted(session, rules=rules, tz=tz, ticket=ticket)
    if clocks is None:
        return False
    before = _due(ticket)
    if not _apply(ticket, clocks):
        return False
    await queries.add_event(
        session,
        actor=actor,
        type="sla_recounted",
        ticket_id=ticket.id,
        data={"reason": reason, "before": before, **_due(ticket)},
    )
    return True


def _due(ticket: Ticket) -> dict[str, Any]:
    return {
        "first_response_due_at": _iso(ticket.first_response_due_at),
        "sla_due_at": _iso(ticket.sla_due_at),
    }


def _iso(value: datetime | None) -> str | None:
    return value.astimezone(UTC).isoformat() if value else None


async def restart_clock(
    session: AsyncSession,
    *,
    rules: RoutingRules,
    tz: ZoneInfo,
    ticket: Ticket,
    actor: str,
    at: datetime,
    reason: str,
) -> bool:
    """A ticket reopened because the citizen says it is not fixed: its resolution SLA is
    counted again in full from ``at`` (the first response is kept: it was given). An
    ``sla_restarted`` event shows the new due time; False when no SLA row applies."""
    clocks = await _recounted(session, rules=rules, tz=tz, ticket=ticket, start=at, pauses=False)
    if clocks is None:
        return False
    before = _due(ticket)
    ticket.sla_due_at, ticket.sla_warn_at = clocks.sla_due_at, clocks.sla_warn_at
    await queries.add_event(
        session,
        actor=actor,
        type="sla_restarted",
        ticket_id=ticket.id,
        data={"reason": reason, "before": before, **_due(ticket)},
    )
    return True
