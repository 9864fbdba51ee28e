"""Store errors sorted by class: an outage (try again) or the data (never "try again")."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from qanat.store.db import Database
from qanat.store.errors import describe, store_unavailable


async def test_a_store_that_cannot_be_reached_is_unavailable() -> None:
    database = Database.from_url("postgresql://postgres@127.0.0.1:1/nothing")
    with pytest.raises(Exception) as raised:
        async with database.session() as session:
            await session.execute(text("SELECT 1"))
    await database.dispose()
    assert store_unavailable(raised.value)


async def test_a_value_the_store_refuses_is_not_an_outage(database_url: str) -> None:
    database = Database.from_url(database_url)
    statement = (
        "INSERT INTO department (code, name_en, name_ar, active) VALUES (:c, 'x', 'y', true)"
    )
    try:
        async with database.writing() as session:
            await session.execute(text(statement), {"c": "roads"})
        with pytest.raises(Exception) as raised:  # the same code twice: integrity
            async with database.writing() as session:
                await session.execute(text(statement), {"c": "roads"})
    finally:
        await database.dispose()
    assert not store_unavailable(raised.value)
    assert "INSERT" not in describe(raised.value) and "roads" not in describe(raised.value)


async def test_a_nul_byte_on_postgresql_is_data_not_an_outage(postgres_url: str) -> None:
    database = Database.from_url(postgres_url)
    try:
        with pytest.raises(Exception) as raised:
            async with database.session() as session:
                await session.execute(text("SELECT CAST(:v AS text)"), {"v": "a\x00b"})
    finally:
        await database.dispose()
    assert not store_unavailable(raised.value)
