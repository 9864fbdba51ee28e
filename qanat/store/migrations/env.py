"""Alembic environment: runs qanat's migrations on the async engine of the given URL."""

from __future__ import annotations

import asyncio
from typing import Any, Literal

from alembic import context
from sqlalchemy import text
from sqlalchemy.engine import Connection
from sqlmodel import SQLModel
from sqlmodel.sql.sqltypes import AutoString

from qanat.store import settings_tables, tables  # noqa: F401  (registers every table)
from qanat.store.db import make_engine

target_metadata = SQLModel.metadata
#: The advisory lock migrations hold on PostgreSQL ("qanat" in ASCII).
MIGRATION_LOCK = 0x71616E6174


def _render_item(type_: str, obj: Any, autogen_context: Any) -> str | Literal[False]:
    # SQLModel's AutoString is a plain VARCHAR; render it so migrations need no sqlmodel.
    if type_ == "type" and isinstance(obj, AutoString):
        return f"sa.String(length={obj.length})" if obj.length else "sa.String()"
    return False


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
        render_item=_render_item,
        include_object=tables.include_in_schema,
    )
    with context.begin_transaction():
        if connection.dialect.name == "postgresql":
            # Several `qanat serve` replicas and workers may start together: one migrates,
            # the others wait here, then find nothing left to do.
            connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK})
        context.run_migrations()


async def _run_online() -> None:
    engine = make_engine(context.config.get_main_option("sqlalchemy.url") or "")
    async with engine.connect() as connection:
        await connection.run_sync(_run)
    await engine.dispose()


if context.is_offline_mode():
    context.configure(
        url=context.config.get_main_option("sqlalchemy.url"),
        target_metadata=target_metadata,
        literal_binds=True,
    )
    with context.begin_transaction():
        context.run_migrations()
else:
    asyncio.run(_run_online())
