"""New tickets given to an agent of their department, as the rules file says.

``assignment: round_robin | least_loaded`` on a department gives each new ticket to one
of its agents who is on shift now, not away, and speaks the citizen's language (when
someone does); ``none`` (the default) leaves it in the department's queue, where agents
take tickets themselves. The choice is an ``assigned`` event by the router, with its
reason, like any reassignment staff make later.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import func
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from qanat.model import OPEN_STATUSES
from qanat.router.assign import AgentLoad, on_shift, pick_assignee
from qanat.router.calendar import WorkCalendar
from qanat.router.rules import RoutingRules
from qanat.router.sla import calendar_for
from qanat.store import queries
from qanat.store.tables import Event, Ticket, User

#: The actor of assignments the router makes.
ROUTER = "router"


async def _agents(session: AsyncSession, department_id: int) -> list[User]:
    statement = select(User).where(
        col(User.department_id) == department_id,
        col(User.role) == "agent",
        col(User.active).is_(True),
    )
    return list((await session.execute(statement.order_by(col(User.id)))).scalars())


async def _open_loads(session: AsyncSession, user_ids: list[int]) -> dict[int, int]:
    rows = await session.execute(
        select(Ticket.assignee_id, func.count())
        .where(
            col(Ticket.assignee_id).in_(user_ids),
            col(Ticket.status).in_([s.value for s in OPEN_STATUSES]),
        )
        .group_by(col(Ticket.assignee_id))
    )
    return {user_id: count for user_id, count in rows if user_id is not None}


def team_of(
    agents: list[User], loads: dict[int, int], calendar: WorkCalendar, now: datetime
) -> list[AgentLoad]:
    """The department's agents as assignment sees them at ``now``."""
    return [
        AgentLoad(
            user_id=agent.id or 0,
            open_tickets=loads.get(agent.id or 0, 0),
            languages=frozenset(agent.languages),
            on_shift=on_shift(agent.shift, calendar, now),
            away=agent.away_until is not None and agent.away_until > now,
        )
        for agent in agents
    ]


async def _last_assigned(session: AsyncSession, department_id: int) -> int | None:
    """The agent the router gave this department's previous ticket to (round robin)."""
    statement = (
        select(Event.data)
        .join(Ticket, col(Ticket.id) == col(Event.ticket_id))
        .where(
            col(Event.type) == "assigned",
            col(Event.actor) == ROUTER,
            col(Ticket.department_id) == department_id,
        )
        .order_by(col(Event.id).desc())
        .limit(1)
    )
    data = (await session.execute(statement)).scalar_one_or_none()
    return int(data["to"]) if data and data.get("to") is not None else None


async def assign_new_ticket(
    session: AsyncSession,
    *,
    rules: RoutingRules,
    ticket: Ticket,
    department: str,
    now: datetime,
    tz: ZoneInfo,
) -> int | None:
    """Give a new ticket to an agent as its department's rule says; the agent's id or None.

    ``department`` is the code of the ticket's department (the router's decision).
    """
    rule = rules.department(department)
    if ticket.department_id is None or rule is None or rule.assignment == "none":
        return None
    agents = await _agents(session, ticket.department_id)
    loads = await _open_loads(session, [a.id for a in agents if a.id is not None])
    team = team_of(agents, loads, calendar_for(rules, department, tz), now)
    language = ticket.language or "ar"
    chosen = pick_assignee(
        team,
        language=language,
        strategy=rule.assignment,
        last_assigned=await _last_assigned(session, ticket.department_id),
    )
    if chosen is None:
        return None  # nobody on shift: the ticket waits in the department's queue
    ticket.assignee_id = chosen
    person = next(a for a in agents if a.id == chosen)
    picked = next(a for a in team if a.user_id == chosen)
    reason = f"{rule.assignment.replace('_', ' ')}: {picked.open_tickets} open, language {language}"
    await queries.add_event(
        session,
        actor=ROUTER,
        type="assigned",
        ticket_id=ticket.id,
        data={"from": None, "to": chosen, "username": person.username, "reason": reason},
    )
    return chosen
