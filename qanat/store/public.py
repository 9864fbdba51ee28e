"""What citizens may read back: their own ticket's status, and a message's reference.

A status is found only by a reference (or a receipt) together with a phone or email of
the ticket's own citizen, in one query: a wrong reference and a wrong phone look the
same, and nothing of another ticket is ever read.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from qanat.model import Identity
from qanat.store.tables import ContactIdentity, Department, Message, Ticket


@dataclass(frozen=True)
class PublicStatus:
    """A ticket as its own citizen sees it: no staff, no notes, no other ticket."""

    reference: str
    status: str
    kind: str
    category: str | None
    department_en: str | None
    department_ar: str | None
    created_at: datetime
    updated_at: datetime
    resolved_at: datetime | None
    due_at: datetime | None
    handled_with_others: bool


async def reference_of_message(session: AsyncSession, *, message_id: int) -> str | None:
    """The reference of the ticket a message joined (None while it waits to be processed)."""
    statement = (
        select(Ticket.reference)
        .join(Message, col(Message.ticket_id) == col(Ticket.id))
        .where(col(Message.id) == message_id)
    )
    return (await session.execute(statement)).scalar_one_or_none()


async def public_status(
    session: AsyncSession,
    *,
    identity: Identity,
    reference: str | None = None,
    receipt: tuple[str, str, str] | None = None,
) -> PublicStatus | None:
    """The ticket with ``reference`` (or holding the message ``receipt`` = channel, account,
    external id) if ``identity`` is one of its citizen's; else None, whichever part is wrong."""
    statement = (
        select(Ticket, Department)
        .outerjoin(Department, col(Department.id) == col(Ticket.department_id))
        .join(ContactIdentity, col(ContactIdentity.contact_id) == col(Ticket.contact_id))
        .where(
            col(ContactIdentity.kind) == identity.kind,
            col(ContactIdentity.value) == identity.value,
        )
    )
    if reference is not None:
        statement = statement.where(col(Ticket.reference) == reference)
    elif receipt is not None:
        channel, account, external_id = receipt
        held = select(col(Message.ticket_id)).where(
            col(Message.channel) == channel,
            col(Message.account) == account,
            col(Message.external_id) == external_id,
        )
        statement = statement.where(col(Ticket.id).in_(held))
    else:
        return None
    row = (await session.execute(statement.limit(1))).one_or_none()
    return None if row is None else _status_of(*row)


def _status_of(ticket: Ticket, department: Department | None) -> PublicStatus:
    return PublicStatus(
        reference=ticket.reference,
        status=ticket.status,
        kind=ticket.kind,
        category=ticket.category,
        department_en=department.name_en if department else None,
        department_ar=department.name_ar if department else None,
        created_at=ticket.created_at,
        updated_at=ticket.updated_at,
        resolved_at=ticket.resolved_at,
        due_at=ticket.sla_due_at,
        handled_with_others=ticket.primary_ticket_id is not None,
    )
