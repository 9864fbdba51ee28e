"""Work that waits: saved messages not yet processed, replies not yet sent."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from qanat.model import DeliveryState, Direction, ProcessingState
from qanat.store.tables import Message


async def unprocessed_messages(
    session: AsyncSession, *, saved_before: datetime, limit: int
) -> list[int]:
    """Ids of citizens' messages saved before ``saved_before`` and still ``received``,
    oldest first."""
    statement = (
        select(col(Message.id))
        .where(
            col(Message.state) == ProcessingState.received,
            col(Message.direction) == Direction.inbound,
            col(Message.created_at) < saved_before,
        )
        .order_by(col(Message.id))
        .limit(limit)
    )
    return [value for value in (await session.execute(statement)).scalars() if value is not None]


async def unsent_replies(session: AsyncSession, *, saved_before: datetime, limit: int) -> list[int]:
    """Ids of replies stored before ``saved_before`` and still ``queued``, oldest first."""
    statement = (
        select(col(Message.id))
        .where(
            col(Message.state) == DeliveryState.queued,
            col(Message.direction) == Direction.outbound,
            col(Message.created_at) < saved_before,
        )
        .order_by(col(Message.id))
        .limit(limit)
    )
    return [value for value in (await session.execute(statement)).scalars() if value is not None]
