"""Every row of every table, read from one database and written into another, unchanged.

The shared part of ``qanat backup``, ``qanat restore`` and ``qanat db copy``. Rows are
read and written through qanat's own table definitions, so a value means the same on
SQLite and PostgreSQL (aware UTC times, JSON, raw bytes); ids are kept, so every
reference between rows still holds, and PostgreSQL's id sequences are moved past them.
Tables are written parents first; a column pointing into its own table (a duplicate's
primary ticket, a merged contact) is filled in after its table's rows are all there.
"""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator, Callable, Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, DateTime, Integer, LargeBinary, Table, func, select, text, update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from sqlmodel import SQLModel

from qanat.errors import StoreUnavailable
from qanat.store import tables as _tables  # noqa: F401  (registers every table)
from qanat.store.tables import UTCDateTime

#: Rows per INSERT statement: large enough to be quick, small enough for any driver.
BATCH = 500


def qanat_tables() -> list[Table]:
    """qanat's tables, each after the tables it refers to."""
    return list(SQLModel.metadata.sorted_tables)


def column_kinds(table: Table) -> dict[str, str]:
    """How each column's values are written in a backup: ``time``, ``bytes``, ``json``
    or ``plain`` (numbers, text, booleans, null)."""
    kinds = {}
    for column in table.columns:
        kind = column.type
        if isinstance(kind, UTCDateTime | DateTime):
            kinds[column.name] = "time"
        elif isinstance(kind, LargeBinary):
            kinds[column.name] = "bytes"
        elif isinstance(kind, JSON):
            kinds[column.name] = "json"
        else:
            kinds[column.name] = "plain"
    return kinds


def encode_row(row: dict[str, Any], kinds: dict[str, str]) -> dict[str, Any]:
    """A row as JSON-safe values (times in ISO 8601 with their offset, bytes in base64)."""
    encoded = dict(row)
    for name, kind in kinds.items():
        value = row.get(name)
        if value is None:
            continue
        if kind == "time":
            encoded[name] = value.isoformat()
        elif kind == "bytes":
            encoded[name] = base64.b64encode(value).decode("ascii")
    return encoded


def decode_row(row: dict[str, Any], kinds: dict[str, str]) -> dict[str, Any]:
    """The inverse of :func:`encode_row`."""
    decoded = dict(row)
    for name, value in row.items():
        if value is None:
            continue
        kind = kinds.get(name, "plain")
        if kind == "time":
            decoded[name] = datetime.fromisoformat(value)
        elif kind == "bytes":
            decoded[name] = base64.b64decode(value)
    return decoded


def _order(table: Table) -> list[Any]:
    return list(table.primary_key.columns) or list(table.columns)


async def read_rows(connection: AsyncConnection, table: Table) -> AsyncIterator[dict[str, Any]]:
    """Every row of ``table``, by primary key, streamed (a large table is never in memory)."""
    result = await connection.stream(select(table).order_by(*_order(table)))
    async for row in result.mappings():
        yield dict(row)


async def count_all(
    connection: AsyncConnection, names: Iterable[str] | None = None
) -> dict[str, int]:
    """How many rows each qanat table (of ``names``, else all of them) holds."""
    wanted = set(names) if names is not None else None
    counts = {}
    for table in qanat_tables():
        if wanted is not None and table.name not in wanted:
            continue
        counts[table.name] = (
            await connection.execute(select(func.count()).select_from(table))
        ).scalar_one()
    return counts


def _self_references(table: Table) -> list[str]:
    return [
        column.name
        for column in table.columns
        if any(key.column.table is table for key in column.foreign_keys)
    ]


def _refused(table: Table, exc: DBAPIError) -> StoreUnavailable:
    # The driver's first line says what (too long, a duplicate key) without the SQL or values.
    reason = str(exc.orig).strip().splitlines()[0] if exc.orig else type(exc).__name__
    return StoreUnavailable(f"table {table.name}: the target database refused a row: {reason}")


async def write_rows(
    connection: AsyncConnection, table: Table, rows: AsyncIterator[dict[str, Any]]
) -> int:
    """Insert ``rows`` into ``table`` as they are (ids included); returns how many."""
    later = _self_references(table)
    pending: list[dict[str, Any]] = []
    links: list[dict[str, Any]] = []
    written = 0

    async def flush() -> None:
        if pending:
            await connection.execute(table.insert(), pending)
            pending.clear()

    try:
        async for row in rows:
            if later and any(row.get(name) is not None for name in later):
                links.append(row)
                row = {**row, **dict.fromkeys(later)}
            pending.append(row)
            written += 1
            if len(pending) >= BATCH:
                await flush()
        await flush()
        await _link(connection, table, later, links)
    except DBAPIError as exc:
        raise _refused(table, exc) from exc
    return written


async def _link(
    connection: AsyncConnection, table: Table, names: list[str], rows: list[dict[str, Any]]
) -> None:
    """Fill in the columns pointing into ``table`` itself, once all its rows exist."""
    keys = [column.name for column in table.primary_key.columns]
    for row in rows:
        where = [table.c[key] == row[key] for key in keys]
        await connection.execute(
            update(table).where(*where).values({name: row[name] for name in names})
        )


def _serial_columns(table: Table) -> list[str]:
    keys = list(table.primary_key.columns)
    if len(keys) != 1 or not isinstance(keys[0].type, Integer):
        return []
    return [keys[0].name] if keys[0].autoincrement in (True, "auto") else []


async def move_sequences_on(connection: AsyncConnection, names: Iterable[str]) -> None:
    """Move PostgreSQL's id sequences past the ids written (SQLite needs nothing)."""
    if connection.dialect.name != "postgresql":
        return
    wanted = set(names)
    for table in qanat_tables():
        if table.name not in wanted:
            continue
        for column in _serial_columns(table):
            await connection.execute(
                text(
                    f"SELECT setval(pg_get_serial_sequence('{table.name}', '{column}'), "
                    f'COALESCE(MAX("{column}"), 1), MAX("{column}") IS NOT NULL) '
                    f'FROM "{table.name}"'
                )
            )


async def ensure_empty(connection: AsyncConnection, names: Iterable[str], *, describe: str) -> None:
    """Refuse a target that already holds rows: a copy never mixes two stores."""
    counts = {name: n for name, n in (await count_all(connection, names)).items() if n}
    if counts:
        held = ", ".join(f"{n} {name}" for name, n in sorted(counts.items())[:4])
        raise StoreUnavailable(
            f"{describe} already holds data ({held}, …): copy only into an empty database"
        )


RowSource = Callable[[Table], AsyncIterator[dict[str, Any]]]


async def write_all(target: AsyncEngine, source: RowSource, names: Iterable[str]) -> dict[str, int]:
    """Write the rows ``source`` gives for each table of ``names`` (parents first) into
    ``target``, in one transaction: all of it or nothing. Returns rows per table."""
    wanted = set(names)
    written: dict[str, int] = {}
    async with target.begin() as connection:
        await ensure_empty(connection, wanted, describe="the target database")
        for table in qanat_tables():
            if table.name in wanted:
                written[table.name] = await write_rows(connection, table, source(table))
        await move_sequences_on(connection, wanted)
    return written


async def copy_between(source: AsyncEngine, target: AsyncEngine) -> dict[str, int]:
    """Copy every row of every qanat table from ``source`` into the empty ``target``."""
    async with source.connect() as reading:

        def rows_of(table: Table) -> AsyncIterator[dict[str, Any]]:
            return read_rows(reading, table)

        return await write_all(target, rows_of, [t.name for t in qanat_tables()])
