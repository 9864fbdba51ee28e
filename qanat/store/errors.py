"""Which store errors mean "the store is unavailable now" and which mean "this data".

The difference decides what a source is told: an outage answers "try again later"
(HTTP 503, SMTP 451) and the message comes back; a value the store refuses (too long, a
NUL byte, out of range) would be refused again on every retry, so it must never be
answered as an outage — the caller saves what it can and dead-letters the rest.
"""

from __future__ import annotations

import asyncio

from sqlalchemy.exc import (
    DBAPIError,
    DisconnectionError,
    InterfaceError,
    OperationalError,
    SQLAlchemyError,
)
from sqlalchemy.exc import (
    TimeoutError as PoolTimeout,
)

#: SQLSTATE classes of a server that cannot serve now (connection exception, operator
#: intervention such as a shutdown, insufficient resources) and of a transaction that
#: lost a race (serialization failure, deadlock): trying again later can succeed.
_PASSING_SQLSTATE_PREFIXES = ("08", "57", "53", "40")


def sqlstate_of(exc: BaseException) -> str | None:
    """The SQLSTATE the server gave (PostgreSQL), if any."""
    original = getattr(exc, "orig", None)
    for candidate in (original, getattr(original, "__cause__", None), exc):
        code = getattr(candidate, "sqlstate", None) or getattr(candidate, "pgcode", None)
        if isinstance(code, str) and code:
            return code
    return None


def store_unavailable(exc: BaseException) -> bool:
    """True when ``exc`` says the store cannot be reached or cannot serve now.

    Connection failures, timeouts, a server shutting down and lost races are passing;
    data and integrity errors (and anything else) are about the data and are not.
    """
    if isinstance(exc, OSError | asyncio.TimeoutError | DisconnectionError | PoolTimeout):
        return True
    if isinstance(exc, DBAPIError) and exc.connection_invalidated:
        return True
    sqlstate = sqlstate_of(exc)
    if sqlstate is not None:
        return sqlstate.startswith(_PASSING_SQLSTATE_PREFIXES)
    if isinstance(exc, OperationalError | InterfaceError):
        # SQLite's "database is locked", a closed connection, a refused connect: no
        # SQLSTATE, and all of them pass.
        return True
    cause = exc.__cause__ or exc.__context__
    return cause is not None and cause is not exc and _connection_like(cause)


def _connection_like(exc: BaseException) -> bool:
    if isinstance(exc, OSError | asyncio.TimeoutError | ConnectionError):
        return True
    name = type(exc).__name__
    return name in {"ConnectionDoesNotExistError", "CannotConnectNowError", "InterfaceError"}


def is_store_error(exc: BaseException) -> bool:
    """True for any error raised by the database layer (SQLAlchemy or the driver)."""
    return isinstance(exc, SQLAlchemyError) or type(exc).__module__.startswith(
        ("asyncpg", "sqlite3", "aiosqlite")
    )


def describe(exc: BaseException) -> str:
    """A store error in words, for a dead letter's reason or an answer: the error's
    class and SQLSTATE, never its message (which holds the SQL and the parameters)."""
    original = getattr(exc, "orig", None)
    name = type(original).__name__ if original is not None else type(exc).__name__
    sqlstate = sqlstate_of(exc)
    return f"{name} (SQLSTATE {sqlstate})" if sqlstate else name
