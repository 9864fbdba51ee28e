"""The routing rules' saved versions: the YAML text staff edited on the settings pages.

The store keeps text it is given; checking it (the same check as ``qanat router check``)
is the router's, done by the caller before saving. The newest row is in force.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from qanat.store.settings_tables import RulesVersion


async def latest(session: AsyncSession) -> RulesVersion | None:
    """The version in force (None: none was saved; the rules file is in force)."""
    statement = select(RulesVersion).order_by(col(RulesVersion.id).desc()).limit(1)
    return (await session.execute(statement)).scalar_one_or_none()


async def latest_id(session: AsyncSession) -> int | None:
    """The id of the version in force, read cheaply (processes poll it)."""
    statement = select(col(RulesVersion.id)).order_by(col(RulesVersion.id).desc()).limit(1)
    return (await session.execute(statement)).scalar_one_or_none()


async def history(session: AsyncSession, *, limit: int = 50) -> list[RulesVersion]:
    """Saved versions, newest first."""
    statement = select(RulesVersion).order_by(col(RulesVersion.id).desc()).limit(limit)
    return list((await session.execute(statement)).scalars())


async def save(
    session: AsyncSession, *, text: str, version: str, by: str, note: str | None = None
) -> RulesVersion:
    """Keep a checked rules text as the new version in force."""
    row = RulesVersion(version=version, text=text, created_by=by, note=note)
    session.add(row)
    await session.flush()
    return row
