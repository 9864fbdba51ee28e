"""Block coverage: the body's blocks, who represents each, and which have nobody."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import update
from sqlmodel import col

from qanat.errors import ConfigError
from qanat.normalize.location import load_gazetteer
from qanat.runtime import Runtime
from qanat.store.tables import Ticket, User, utcnow
from qanat.web.coverage import parse_blocks, residential_blocks
from tests.web.conftest import Login

BLOCKS = Path(__file__).parent.parent / "fixtures" / "web" / "blocks.txt"


def test_a_blocks_file_lists_blocks_and_ranges() -> None:
    blocks = residential_blocks(BLOCKS)
    assert len(blocks) == 121 and blocks[:2] == ("301", "302") and blocks[-1] == "613"
    assert parse_blocks("305\n301-303 # Manama\n\n305\n", "f") == ["301", "302", "303", "305"]
    for wrong, reason in (("30x", "f:2: '30x' is not a block"), ("99", "f:2: blocks are 3-4")):
        with pytest.raises(ConfigError, match=reason):
            parse_blocks(f"# blocks\n{wrong}\n", "f")


def test_without_a_file_the_gazetteer_names_the_blocks() -> None:
    expected = sum(a.block_to - a.block_from + 1 for a in load_gazetteer())
    assert len(residential_blocks(None)) == expected


async def representatives(runtime: Runtime, password_hash: str) -> None:
    """60 more representatives (rep305 is the 61st), a second for 301, an inactive one."""
    first_61 = residential_blocks(BLOCKS)[:61]
    async with runtime.db.writing() as session:
        for block in first_61:
            if block != "305":
                session.add(
                    User(
                        username=f"rep{block}",
                        display_name=f"ممثل {block}",
                        password_hash=password_hash,
                        role="representative",
                        block=block,
                    )
                )
        session.add(
            User(
                username="rep301b",
                display_name="نائب 301",
                password_hash=password_hash,
                role="representative",
                block="301",
            )
        )
        session.add(
            User(
                username="rep601",
                display_name="سابق",
                password_hash=password_hash,
                role="representative",
                block="601",
                active=False,
            )
        )


async def test_121_blocks_61_covered(login: Login, seeded: Runtime, password_hash: str) -> None:
    seeded.settings.blocks_file = BLOCKS
    await representatives(seeded, password_hash)
    async with seeded.db.writing() as session:  # the seed's report, as if sent today
        await session.execute(
            update(Ticket)
            .where(col(Ticket.reference) == "QN-2026-000006")
            .values(created_at=utcnow())
        )
    rep = await login("rep305")
    assert (await rep.post("/api/submissions", json={"text": "حفرة في طريق 12"})).status_code == 201
    supervisor = await login("sup_sewage")
    found = (await supervisor.get("/api/coverage")).json()
    assert (found["blocks"], found["covered"], len(found["uncovered"])) == (121, 61, 60)
    assert found["uncovered"][:3] == ["413", "414", "415"] and "601" in found["uncovered"]
    by_block = {b["block"]: b for b in found["by_block"]}
    assert by_block["301"]["representatives"] == ["rep301", "rep301b"]
    assert (by_block["305"]["reports_30_days"], by_block["305"]["area"]) == (2, "Manama")
    page = (await supervisor.get("/coverage")).text
    assert "61 من 121 مجمعًا لها ممثل؛ 60 بلا ممثل." in page
    assert 'href="/inbox?queue=all&amp;representative=rep305"' in page
    agent = await login("agent_sewage")
    assert (await agent.get("/api/coverage")).status_code == 403
