"""Rate-limit counts in the store: one row per key and time window, shared by every process."""

from __future__ import annotations

from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from qanat.store.queries import insert_or
from qanat.store.tables import RateCount

#: Windows older than this are deleted when a new window opens (nothing needs them).
KEEP_SECONDS = 2 * 24 * 3600


async def count_hit(session: AsyncSession, *, key: str, window_start: int) -> int:
    """Add one to ``key``'s count in the window starting at ``window_start``; the new count.

    One statement (insert, or add one on conflict), so two processes counting at once
    both count.
    """
    statement = (
        insert_or(session, RateCount)
        .values(key=key, window_start=window_start, count=1)
        .on_conflict_do_update(
            index_elements=["key", "window_start"], set_={"count": col(RateCount.count) + 1}
        )
        .returning(col(RateCount.count))
    )
    count = int((await session.execute(statement)).scalar_one())
    if count == 1:
        await session.execute(
            delete(RateCount).where(col(RateCount.window_start) < window_start - KEEP_SECONDS)
        )
    return count
