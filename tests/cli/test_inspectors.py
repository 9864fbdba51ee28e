"""``qanat inspector areas`` and ``qanat open311 key add --updates`` from the command line."""

from __future__ import annotations

import asyncio

from sqlmodel import col, select
from typer.testing import CliRunner

from qanat.cli.main import app
from qanat.store.db import Database
from qanat.store.inspection_tables import InspectorArea
from qanat.store.tables import Open311Key


def invoke(database_url: str, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, list(args), env={"QANAT_DATABASE_URL": database_url})
    return result.exit_code, result.stdout + result.stderr


async def blocks_of(database_url: str) -> list[str]:
    db = Database.from_url(database_url)
    try:
        async with db.session() as session:
            rows = await session.execute(
                select(InspectorArea.block).order_by(col(InspectorArea.block))
            )
            return list(rows.scalars())
    finally:
        await db.dispose()


def test_an_inspectors_blocks_are_set_from_ranges(database_url: str) -> None:
    code, said = invoke(
        database_url, "user", "add", "insp", "--role", "inspector", "--password", "long-enough-1"
    )
    assert code == 0, said
    code, said = invoke(database_url, "inspector", "areas", "insp", "301-303,905")
    assert code == 0 and "covers 4 blocks" in said
    assert asyncio.run(blocks_of(database_url)) == ["301", "302", "303", "905"]
    code, said = invoke(database_url, "inspector", "areas", "insp", "30x")
    assert code == 1 and "'30x' is not a block" in said
    invoke(database_url, "user", "add", "ali", "--role", "agent", "--password", "long-enough-1")
    code, said = invoke(database_url, "inspector", "areas", "ali", "305")
    assert code == 1 and "is not an inspector" in said


async def partner_flags(database_url: str) -> dict[str, bool]:
    db = Database.from_url(database_url)
    try:
        async with db.session() as session:
            return dict((await session.execute(select(Open311Key.name, Open311Key.updates))).all())
    finally:
        await db.dispose()


def test_a_partners_key_may_post_updates(database_url: str) -> None:
    assert invoke(database_url, "open311", "key", "add", "works", "--updates")[0] == 0
    assert invoke(database_url, "open311", "key", "add", "app")[0] == 0
    assert asyncio.run(partner_flags(database_url)) == {"works": True, "app": False}
