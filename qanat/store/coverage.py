"""Which residential blocks have a community representative, and how much each reports."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import distinct, func
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from qanat.store.access import REPRESENTATIVE_ACCOUNT, REPRESENTATIVE_CHANNEL
from qanat.store.tables import Message, Ticket, User


@dataclass
class BlockCoverage:
    """One block: its representatives (active accounts) and their recent reports."""

    block: str
    representatives: list[tuple[str, str]] = field(default_factory=list)
    reports: int = 0

    @property
    def covered(self) -> bool:
        """True when at least one active representative reports for the block."""
        return bool(self.representatives)


async def coverage(
    session: AsyncSession, *, blocks: Sequence[str], since: datetime
) -> list[BlockCoverage]:
    """Every block of ``blocks`` with its representatives and the reports they sent since."""
    rows = {block: BlockCoverage(block) for block in blocks}
    people = await session.execute(
        select(User.block, User.username, User.display_name)
        .where(
            col(User.role) == "representative",
            col(User.active).is_(True),
            col(User.block).in_(list(rows)),
        )
        .order_by(col(User.username))
    )
    for block, username, name in people:
        if block is not None:
            rows[block].representatives.append((username, name))
    counts = await _reports_since(
        session, usernames=[u for r in rows.values() for u, _ in r.representatives], since=since
    )
    for row in rows.values():
        row.reports = sum(counts.get(username, 0) for username, _ in row.representatives)
    return list(rows.values())


async def _reports_since(
    session: AsyncSession, *, usernames: list[str], since: datetime
) -> dict[str, int]:
    """Representative → tickets opened since ``since`` by what they submitted."""
    if not usernames:
        return {}
    statement = (
        select(Message.sender_handle, func.count(distinct(col(Message.ticket_id))))
        .join(Ticket, col(Ticket.id) == col(Message.ticket_id))
        .where(
            col(Message.channel) == REPRESENTATIVE_CHANNEL,
            col(Message.account) == REPRESENTATIVE_ACCOUNT,
            col(Message.sender_handle).in_(usernames),
            col(Ticket.created_at) >= since,
        )
        .group_by(col(Message.sender_handle))
    )
    return {handle: int(count) for handle, count in await session.execute(statement)}
