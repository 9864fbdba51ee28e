"""Is the database there, reachable and migrated? One clear line when it is not.

Every ``qanat`` command that uses the store asks :func:`prepare_store` first: it
connects once, turns the usual failures (a PostgreSQL database that was never created,
a server that is down, a password refused, a SQLite folder that cannot be written) into
a :class:`~qanat.errors.StoreUnavailable` saying what to do, then applies the
migrations. :func:`describe_store_error` does the same for a failure met later.
"""

from __future__ import annotations

import asyncio
import socket
import sqlite3
from dataclasses import dataclass
from pathlib import Path

from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import text
from sqlalchemy.engine import Connection
from sqlalchemy.engine.url import URL, make_url

from qanat.config import async_database_url
from qanat.errors import StoreUnavailable
from qanat.store.db import make_engine
from qanat.store.migrate import alembic_config, upgrade


def redacted(database_url: str) -> str:
    """``database_url`` fit to print: the password hidden, the driver name dropped."""
    url = make_url(async_database_url(database_url))
    plain = url.set(drivername=url.get_backend_name())
    return plain.render_as_string(hide_password=True)


def sqlite_path(database_url: str) -> Path | None:
    """The file of a SQLite URL (None for PostgreSQL or an in-memory database)."""
    url = make_url(async_database_url(database_url))
    if url.get_backend_name() != "sqlite" or url.database in (None, "", ":memory:"):
        return None
    return Path(url.database)


def _causes(exc: BaseException) -> list[BaseException]:
    """``exc`` and what it wraps: SQLAlchemy's ``orig``, then causes and contexts."""
    chain: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and current not in chain:
        chain.append(current)
        wrapped = getattr(current, "orig", None)
        current = (
            wrapped
            if isinstance(wrapped, BaseException)
            else (current.__cause__ or current.__context__)
        )
    return chain


def _postgres_reason(cause: BaseException, url: URL) -> str | None:
    where = f"{url.host or 'localhost'}:{url.port or 5432}"
    name = type(cause).__name__
    if name == "InvalidCatalogNameError":
        flags = f"-h {url.host or 'localhost'} -p {url.port or 5432}"
        if url.username:
            flags += f" -U {url.username}"
        return (
            f"database {url.database} does not exist: "
            f"create it with createdb {flags} {url.database}"
        )
    if name in ("InvalidPasswordError", "InvalidAuthorizationSpecificationError"):
        return (
            f"PostgreSQL at {where} refused user {url.username or '(none)'}: "
            "check the URL's user and password"
        )
    if isinstance(cause, socket.gaierror):
        return f"cannot reach PostgreSQL: unknown host {url.host!r}"
    if isinstance(cause, ConnectionRefusedError):
        return f"cannot reach PostgreSQL at {where}: connection refused (is it running?)"
    if isinstance(cause, TimeoutError):
        return f"cannot reach PostgreSQL at {where}: no answer in time"
    if isinstance(cause, OSError) and cause.errno is not None:
        return f"cannot reach PostgreSQL at {where}: {cause.strerror}"
    return None


def _sqlite_reason(cause: BaseException, path: Path) -> str | None:
    if isinstance(cause, PermissionError | NotADirectoryError | FileExistsError):
        return f"cannot create the SQLite database {path}: {cause.strerror} ({cause.filename})"
    if isinstance(cause, sqlite3.OperationalError) and "unable to open" in str(cause):
        return f"cannot open the SQLite database {path}: is its folder writable?"
    if isinstance(cause, sqlite3.DatabaseError) and "not a database" in str(cause):
        return f"{path} is not a SQLite database"
    if isinstance(cause, sqlite3.OperationalError) and "readonly" in str(cause):
        return f"the SQLite database {path} is read-only"
    return None


def describe_store_error(exc: BaseException, database_url: str) -> str | None:
    """One line saying why the store at ``database_url`` failed, when the reason is one
    an operator can act on; None for anything else (a bug, a broken query)."""
    url = make_url(async_database_url(database_url))
    path = sqlite_path(database_url)
    for cause in _causes(exc):
        reason = _sqlite_reason(cause, path) if path else _postgres_reason(cause, url)
        if reason:
            return reason
    return None


async def _probe(database_url: str) -> None:
    engine = make_engine(database_url)
    try:
        async with engine.connect() as connection:
            await connection.execute(text("SELECT 1"))
    finally:
        await engine.dispose()


def check_store(database_url: str) -> None:
    """Connect once; raise :class:`StoreUnavailable` with the reason when that fails."""
    try:
        asyncio.run(_probe(database_url))
    except Exception as exc:
        reason = describe_store_error(exc, database_url)
        if reason is None:
            raise
        raise StoreUnavailable(reason) from exc


def prepare_store(database_url: str, *, create: bool = True) -> None:
    """Make the store ready for a command: reachable, then migrated to the newest revision.

    With ``create=False`` a SQLite file that does not exist yet is refused instead of
    made (commands that only read: there is nothing to read).
    """
    path = sqlite_path(database_url)
    if not create and path is not None and not path.exists():
        raise StoreUnavailable(
            f"no database yet at {path}: `qanat demo` loads the demo, "
            "`qanat db upgrade` makes an empty one"
        )
    check_store(database_url)
    try:
        upgrade(database_url)
    except Exception as exc:
        reason = describe_store_error(exc, database_url)
        if reason is None:
            raise
        raise StoreUnavailable(reason) from exc


@dataclass(frozen=True)
class Revisions:
    """Where a database's migrations stand: its revision (None before the first) and the
    newest this qanat knows."""

    current: str | None
    head: str

    @property
    def up_to_date(self) -> bool:
        """True when the database is at the newest revision."""
        return self.current == self.head


def _current(connection: Connection) -> str | None:
    return MigrationContext.configure(connection).get_current_revision()


async def _read_revision(database_url: str) -> str | None:
    engine = make_engine(database_url)
    try:
        async with engine.connect() as connection:
            return await connection.run_sync(_current)
    finally:
        await engine.dispose()


def head_revision() -> str:
    """The newest migration this qanat ships."""
    head = ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()
    assert head is not None
    return head


def known_revision(revision: str) -> bool:
    """True when ``revision`` is one of this qanat's migrations."""
    script = ScriptDirectory.from_config(alembic_config("sqlite://"))
    try:
        return script.get_revision(revision) is not None
    except Exception:  # alembic's ResolutionError and kin: not one of ours
        return False


def revisions(database_url: str) -> Revisions:
    """The database's revision and the newest one (StoreUnavailable when unreachable)."""
    check_store(database_url)
    return Revisions(current=asyncio.run(_read_revision(database_url)), head=head_revision())
