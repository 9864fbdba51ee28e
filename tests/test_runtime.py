"""The runtime: an import processed in batches where jobs run inline."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import col, select

from qanat.config import Settings, sqlite_url
from qanat.ingest.interchange import import_file
from qanat.jobs.batching import process_and_notify as processed
from qanat.pipeline import Outcome, Result
from qanat.runtime import Runtime, importing, process_inline_batch, start_runtime, stop_runtime
from qanat.store.tables import Message, Ticket

IMPORT = Path(__file__).parent / "fixtures" / "import" / "sewage_block_305.jsonl"


async def _tickets(runtime: Runtime) -> list[tuple[Any, ...]]:
    """What the import made, in the words staff read it."""
    async with runtime.db.session() as session:
        tickets = (await session.execute(select(Ticket).order_by(col(Ticket.reference)))).scalars()
        reference = {t.id: t.reference for t in tickets.all()}
        rows = (await session.execute(select(Ticket).order_by(col(Ticket.reference)))).scalars()
        found = [
            (t.reference, reference.get(t.primary_ticket_id), t.category, t.status, t.kind)
            for t in rows
        ]
        joined = await session.execute(
            select(col(Message.external_id), col(Message.ticket_id)).order_by(col(Message.id))
        )
        return found + [(external, reference.get(ticket)) for external, ticket in joined]


async def test_an_import_in_batches_makes_what_one_by_one_makes(
    settings: Settings, sqlite_template: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    batches: list[int] = []

    async def counted(runtime: Runtime, message_ids: list[int]) -> Any:
        batches.append(len(message_ids))
        return await processed(runtime, message_ids)

    monkeypatch.setattr("qanat.runtime.process_and_notify", counted)
    one_by_one_store = tmp_path / "one-by-one.db"
    shutil.copy(sqlite_template, one_by_one_store)
    alone = await start_runtime(
        settings.model_copy(update={"database_url": sqlite_url(one_by_one_store)})
    )
    try:
        await import_file(alone.intake, IMPORT)
        expected = await _tickets(alone)
    finally:
        await stop_runtime(alone)
    assert batches == [1] * 6

    batches.clear()
    batched = await start_runtime(settings.model_copy(update={"batch_size": 4}))
    try:
        async with importing(batched):
            await import_file(batched.intake, IMPORT)
        assert await _tickets(batched) == expected
    finally:
        await stop_runtime(batched)
    assert batches == [4, 2]  # a full batch, then what was left at the end
    # The fixture's duplicate linked to its primary, as one by one (follow-ups: above).
    assert sum(1 for row in expected if len(row) == 5 and row[1] is not None) == 1


async def test_a_message_to_retry_from_a_batch_gets_its_remaining_tries_alone(
    runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    asked: list[list[int]] = []

    async def store_away_once(_runtime: Runtime, message_ids: list[int]) -> list[Outcome]:
        asked.append(list(message_ids))
        again = len(asked) < 3  # the store is away for the batch and the next try
        return [
            Outcome(m, Result.retry if m == 2 and again else Result.created) for m in message_ids
        ]

    monkeypatch.setattr("qanat.runtime.process_and_notify", store_away_once)
    await process_inline_batch(runtime, [1, 2, 3])
    assert asked == [[1, 2, 3], [2], [2]]
    asked.clear()
    monkeypatch.setattr(runtime.settings, "max_attempts", 2)
    await process_inline_batch(runtime, [1, 2, 3])
    assert asked == [[1, 2, 3], [2]]  # two tries in all: the batch's and one alone
