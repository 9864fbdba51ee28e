"""Engines: the PostgreSQL pool as the settings make it; SQLite ignores pool settings."""

from __future__ import annotations

from pathlib import Path

from qanat.config import load_settings
from qanat.store.db import Database


async def test_the_postgres_pool_pings_by_default_and_is_recycled(postgres_url: str) -> None:
    settings = load_settings(database_url=postgres_url, db_pool_size=7, db_pool_overflow=3)
    db = Database.from_url(settings.database_url, **settings.pool_options())
    pool = db.engine.sync_engine.pool
    try:
        assert pool._pre_ping is True  # type: ignore[attr-defined]
        assert pool._recycle == 1800  # type: ignore[attr-defined]
        assert pool.size() == 7 and pool._max_overflow == 3  # type: ignore[attr-defined]
        assert await db.reachable()
    finally:
        await db.dispose()


async def test_sqlite_takes_the_same_options_and_ignores_them(tmp_path: Path) -> None:
    settings = load_settings(database_url=f"sqlite:///{tmp_path / 'q.db'}", db_pool_size=7)
    db = Database.from_url(settings.database_url, **settings.pool_options())
    try:
        assert await db.reachable()
        assert db.engine.sync_engine.pool.size() != 7  # type: ignore[attr-defined]
    finally:
        await db.dispose()
