"""The migrations build exactly the tables the code declares, on both backends."""

from __future__ import annotations

from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlmodel import SQLModel

from qanat.store import settings_tables, tables  # noqa: F401  (registers the tables)
from qanat.store.db import Database


def _differences(connection: Any) -> list[Any]:
    context = MigrationContext.configure(
        connection, opts={"compare_type": True, "include_object": tables.include_in_schema}
    )
    return list(compare_metadata(context, SQLModel.metadata))


async def test_migrated_schema_matches_the_tables(database_url: str) -> None:
    db = Database.from_url(database_url)
    async with db.engine.connect() as connection:
        differences = await connection.run_sync(_differences)
    await db.dispose()
    assert differences == []
