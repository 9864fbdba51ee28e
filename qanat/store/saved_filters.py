"""Views of the inbox staff saved for themselves: a name and the list's query string."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from qanat.errors import BadPayload, NotFound
from qanat.store.settings_tables import SavedFilter

#: A person keeps at most this many views.
PER_PERSON = 30


async def filters_of(session: AsyncSession, *, user_id: int) -> list[SavedFilter]:
    """A person's saved views, by name."""
    statement = (
        select(SavedFilter).where(col(SavedFilter.user_id) == user_id).order_by(SavedFilter.name)
    )
    return list((await session.execute(statement)).scalars())


async def save_filter(session: AsyncSession, *, user_id: int, name: str, query: str) -> SavedFilter:
    """Save (or replace, under the same name) a view of the inbox."""
    name = name.strip()
    if not name:
        raise BadPayload("a saved view needs a name")
    kept = await filters_of(session, user_id=user_id)
    same = next((f for f in kept if f.name == name), None)
    if same is None and len(kept) >= PER_PERSON:
        raise BadPayload(f"at most {PER_PERSON} saved views")
    saved = same or SavedFilter(user_id=user_id, name=name, query=query)
    saved.query = query
    session.add(saved)
    await session.flush()
    return saved


async def delete_filter(session: AsyncSession, *, user_id: int, filter_id: int) -> None:
    """Delete one of a person's saved views (another person's is not found)."""
    found = await session.get(SavedFilter, filter_id)
    if found is None or found.user_id != user_id:
        raise NotFound(f"no saved view {filter_id}")
    await session.delete(found)
