"""Who may see which tickets: the one scoping rule every page, API route and export uses.

:func:`visible_tickets` is a query condition on :class:`~qanat.store.tables.Ticket`; a
ticket outside it does not exist for that viewer (404, never 403), so an agent of one
department cannot even learn another department's references.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import ColumnElement, false, true
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from qanat.errors import NotFound
from qanat.store.tables import Message, Ticket

#: Channel and account of what representatives submit through qanat itself.
REPRESENTATIVE_CHANNEL = "app"
REPRESENTATIVE_ACCOUNT = "representatives"

#: Roles that work a department's tickets.
DEPARTMENT_ROLES = frozenset({"agent", "supervisor"})


@dataclass(frozen=True)
class Viewer:
    """Who is asking: a logged-in member of staff, or an API token acting as one.

    ``scopes`` is None for a browser session (the role's full powers) and the token's
    scopes for an API token. ``via`` says how the request was authenticated.
    """

    user_id: int
    username: str
    display_name: str
    role: str
    department_id: int | None = None
    block: str | None = None
    language: str = "ar"
    via: str = "session"
    scopes: frozenset[str] | None = None
    token_id: int | None = None

    @property
    def actor(self) -> str:
        """The name events and the audit log record for this viewer."""
        if self.via == "token":
            return f"token:{self.token_id}:{self.username}"
        return f"staff:{self.username}"


def submissions_of(username: str) -> ColumnElement[bool]:
    """Tickets holding a message a representative submitted through qanat."""
    submitted = select(col(Message.ticket_id)).where(
        col(Message.channel) == REPRESENTATIVE_CHANNEL,
        col(Message.account) == REPRESENTATIVE_ACCOUNT,
        col(Message.sender_handle) == username,
        col(Message.ticket_id).is_not(None),
    )
    return col(Ticket.id).in_(submitted)


def visible_tickets(viewer: Viewer) -> ColumnElement[bool]:
    """The condition on ``Ticket`` selecting what ``viewer`` may see.

    Admins see everything; agents and supervisors their department's tickets; a
    block's representative the tickets of what they submitted. Anyone else: nothing.
    """
    if viewer.role == "admin":
        return true()
    if viewer.role in DEPARTMENT_ROLES:
        if viewer.department_id is None:
            return false()
        return col(Ticket.department_id) == viewer.department_id
    if viewer.role == "representative":
        return submissions_of(viewer.username)
    return false()


async def visible_ticket(
    session: AsyncSession, *, viewer: Viewer, reference: str, for_update: bool = False
) -> Ticket:
    """The ticket with ``reference`` if ``viewer`` may see it; else :class:`NotFound`.

    ``for_update`` locks the row on PostgreSQL, for actions that change the ticket.
    """
    statement = select(Ticket).where(col(Ticket.reference) == reference, visible_tickets(viewer))
    if for_update and session.get_bind().dialect.name == "postgresql":
        statement = statement.with_for_update()
    ticket = (await session.execute(statement)).scalar_one_or_none()
    if ticket is None:
        raise NotFound(f"no ticket {reference}")
    return ticket


async def is_visible(session: AsyncSession, *, viewer: Viewer, ticket_id: int) -> bool:
    """True when ``viewer`` may see the ticket with id ``ticket_id``."""
    statement = select(col(Ticket.id)).where(col(Ticket.id) == ticket_id, visible_tickets(viewer))
    return (await session.execute(statement)).scalar_one_or_none() is not None
