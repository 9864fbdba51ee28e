"""Copying every row between databases: ids, raw bytes, times and links kept as they are."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import update

from qanat.runtime import Runtime
from qanat.store.copying import column_kinds, copy_between, decode_row, encode_row
from qanat.store.db import make_engine
from qanat.store.migrate import upgrade
from qanat.store.tables import Contact, Message, Ticket
from tests.support.rows import every_row

IMPORTS = Path(__file__).parents[1] / "fixtures" / "import"


def test_a_row_survives_its_json_form() -> None:
    kinds = column_kinds(Message.__table__)  # type: ignore[attr-defined]
    row = {
        "id": 7,
        "raw": bytes(range(256)),
        "received_at": datetime(2026, 12, 7, 5, 30, 1, 123456, tzinfo=UTC),
        "processed_at": None,
        "given": {"status": "resolved", "when": "2026-11-02"},
        "text": "طفح مجاري",
    }
    encoded = encode_row(row, kinds)
    assert isinstance(encoded["raw"], str) and encoded["received_at"].endswith("+00:00")
    assert decode_row(encoded, kinds) == row


async def test_links_to_a_later_row_are_copied_too(
    runtime: Runtime, database_url: str, tmp_path: Path
) -> None:
    from qanat.ingest.interchange import import_file

    await import_file(runtime.intake, IMPORTS / "sewage_block_305.jsonl")
    async with runtime.db.writing() as session:
        # Staff linked the first ticket under a newer one, and merged a contact into a later one.
        await session.execute(update(Ticket).where(Ticket.id == 1).values(primary_ticket_id=4))
        await session.execute(update(Contact).where(Contact.id == 1).values(merged_into_id=3))
    target_url = f"sqlite+aiosqlite:///{tmp_path / 'copy.db'}"
    await asyncio.to_thread(upgrade, target_url)
    source, target = make_engine(database_url), make_engine(target_url)
    try:
        written = await copy_between(source, target)
    finally:
        await source.dispose()
        await target.dispose()
    before, after = await every_row(database_url), await every_row(target_url)
    assert after == before
    assert written["ticket"] == len(before["ticket"]) == 4
    assert after["ticket"][0]["primary_ticket_id"] == 4
