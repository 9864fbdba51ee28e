"""The audit log: every view of a ticket's personal data and every change, with who and when."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from qanat.store.access import Viewer
from qanat.store.tables import AuditEntry, Ticket, User


async def record(
    session: AsyncSession,
    *,
    viewer: Viewer | None,
    action: str,
    ticket_id: int | None = None,
    detail: dict[str, Any] | None = None,
    ip: str | None = None,
    actor: str | None = None,
) -> None:
    """Append an audit row in the caller's transaction (so it commits with the change)."""
    session.add(
        AuditEntry(
            user_id=viewer.user_id if viewer else None,
            actor=actor or (viewer.actor if viewer else "anonymous"),
            action=action,
            ticket_id=ticket_id,
            detail=detail or {},
            ip=ip,
        )
    )
    await session.flush()


async def recent(
    session: AsyncSession,
    *,
    limit: int = 200,
    ticket_id: int | None = None,
    user_id: int | None = None,
) -> list[dict[str, Any]]:
    """Audit rows, newest first, optionally for one ticket or one member of staff."""
    statement = (
        select(AuditEntry, Ticket.reference, User.username)
        .outerjoin(Ticket, col(Ticket.id) == col(AuditEntry.ticket_id))
        .outerjoin(User, col(User.id) == col(AuditEntry.user_id))
        .order_by(col(AuditEntry.id).desc())
        .limit(limit)
    )
    if ticket_id is not None:
        statement = statement.where(col(AuditEntry.ticket_id) == ticket_id)
    if user_id is not None:
        statement = statement.where(col(AuditEntry.user_id) == user_id)
    rows = (await session.execute(statement)).all()
    return [
        {
            "at": entry.at.isoformat(),
            "actor": entry.actor,
            "username": username,
            "action": entry.action,
            "ticket": reference,
            "detail": entry.detail,
            "ip": entry.ip,
        }
        for entry, reference, username in rows
    ]
