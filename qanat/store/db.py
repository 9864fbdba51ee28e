"""Engines and sessions for SQLite (embedded default) and PostgreSQL (production)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import event, text
from sqlalchemy.engine.url import make_url
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from qanat.config import (
    POSTGRES_POOL_OVERFLOW,
    POSTGRES_POOL_RECYCLE_S,
    POSTGRES_POOL_SIZE,
    POSTGRES_PRE_PING,
    async_database_url,
)

#: How long SQLite waits for another writer before giving up (ms).
SQLITE_BUSY_TIMEOUT_MS = 30_000
_POOL_OPTIONS = ("pool_size", "max_overflow", "pool_recycle", "pool_pre_ping")


def make_engine(database_url: str, **kwargs: Any) -> AsyncEngine:
    """Create the async engine; SQLite gets WAL, foreign keys and a busy timeout."""
    url = async_database_url(database_url)
    if url.startswith("sqlite"):
        for option in _POOL_OPTIONS:  # one file, one writer: the pool settings do not apply
            kwargs.pop(option, None)
        _ensure_sqlite_folder(url)
        engine = create_async_engine(url, connect_args={"timeout": 30}, **kwargs)
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        return engine
    kwargs.setdefault("pool_pre_ping", POSTGRES_PRE_PING)
    kwargs.setdefault("pool_recycle", POSTGRES_POOL_RECYCLE_S)
    kwargs.setdefault("pool_size", POSTGRES_POOL_SIZE)
    kwargs.setdefault("max_overflow", POSTGRES_POOL_OVERFLOW)
    return create_async_engine(url, **kwargs)


def _ensure_sqlite_folder(url: str) -> None:
    database = make_url(url).database
    if database and database != ":memory:":
        Path(database).parent.mkdir(parents=True, exist_ok=True)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # WAL lets the inbox read while the pipeline writes; foreign keys are off by default.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


_SQLITE_LOCKS: dict[tuple[str, int], asyncio.Lock] = {}


def is_sqlite(engine: AsyncEngine) -> bool:
    """True when ``engine`` talks to SQLite."""
    return engine.dialect.name == "sqlite"


class Database:
    """The engine, its session factory, and the write lock SQLite needs.

    SQLite allows one writer at a time; qanat runs on SQLite only in one process, so a
    process-wide lock around write transactions stands in for PostgreSQL's row and
    advisory locks there.
    """

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self.sessions = async_sessionmaker(engine, class_=AsyncSession, expire_on_commit=False)
        self.is_sqlite = is_sqlite(engine)

    @classmethod
    def from_url(cls, database_url: str, **kwargs: Any) -> Database:
        """Build a :class:`Database` from a URL such as ``QANAT_DATABASE_URL``."""
        return cls(make_engine(database_url, **kwargs))

    @asynccontextmanager
    async def session(self) -> AsyncIterator[AsyncSession]:
        """A session for reading, or for a write that needs no lock."""
        async with self.sessions() as session:
            yield session

    @asynccontextmanager
    async def writing(self) -> AsyncIterator[AsyncSession]:
        """A session in a transaction that commits on success, serialized on SQLite."""
        if self.is_sqlite:
            # One lock per SQLite file (and event loop), however many Database objects.
            key = (str(self.engine.url), id(asyncio.get_running_loop()))
            lock = _SQLITE_LOCKS.setdefault(key, asyncio.Lock())
            async with lock, self.sessions() as session, session.begin():
                yield session
        else:
            async with self.sessions() as session, session.begin():
                yield session

    async def reachable(self, timeout_s: float = 5.0) -> bool:
        """True when the store answers a trivial query within ``timeout_s`` (health)."""
        try:
            async with asyncio.timeout(timeout_s), self.sessions() as session:
                await session.execute(text("SELECT 1"))
        except Exception:
            return False
        return True

    async def dispose(self) -> None:
        """Close every pooled connection."""
        await self.engine.dispose()
