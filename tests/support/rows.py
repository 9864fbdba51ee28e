"""Reading the store back in tests: rows of a table, one message by its channel's id."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlmodel import col

from qanat.runtime import Runtime
from qanat.store.tables import Message


async def rows(runtime: Runtime, table: Any, *where: Any) -> list[Any]:
    """Every row of ``table`` that matches ``where``, in id order."""
    async with runtime.db.session() as session:
        statement = select(table).where(*where).order_by(table.id)
        return list((await session.execute(statement)).scalars())


async def message(runtime: Runtime, external_id: str) -> Message:
    """The one stored message with this external id."""
    [found] = await rows(runtime, Message, col(Message.external_id) == external_id)
    assert isinstance(found, Message)
    return found


async def row(runtime: Runtime, table: Any, row_id: int) -> Any:
    """The row of ``table`` with this id (asserting it exists)."""
    async with runtime.db.session() as session:
        found = await session.get(table, row_id)
    assert found is not None, f"no {table.__name__} {row_id}"
    return found


async def every_row(database_url: str) -> dict[str, list[dict[str, Any]]]:
    """Every row of every qanat table, by primary key, as the store reads it back."""
    from qanat.store.copying import qanat_tables, read_rows
    from qanat.store.db import make_engine

    engine = make_engine(database_url)
    try:
        async with engine.connect() as connection:
            return {
                table.name: [row async for row in read_rows(connection, table)]
                for table in qanat_tables()
            }
    finally:
        await engine.dispose()
