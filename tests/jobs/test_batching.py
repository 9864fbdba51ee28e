"""The worker's batches: jobs running at the same moment share one, each gets its own."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import pytest

from qanat.jobs.batching import Batcher
from qanat.pipeline import Outcome, Result


class Recorder:
    """Processes batches by naming each message's batch; records the batches asked."""

    def __init__(self, fail: bool = False, gate: asyncio.Event | None = None) -> None:
        self.batches: list[list[int]] = []
        self.fail = fail
        self.gate = gate
        self.started = asyncio.Event()

    async def __call__(self, message_ids: Sequence[int]) -> list[Outcome]:
        self.batches.append(list(message_ids))
        self.started.set()
        if self.gate is not None:  # the batch runs until the test lets it end
            await self.gate.wait()
        if self.fail:
            raise RuntimeError("the batch failed")
        detail = str(len(self.batches))
        return [Outcome(m, Result.created, ticket_id=m * 10, detail=detail) for m in message_ids]


async def test_jobs_started_together_share_one_batch_and_get_their_own_outcome() -> None:
    recorder = Recorder()
    batcher = Batcher(recorder, size=50, wait_s=0.01)
    outcomes = await asyncio.gather(*(batcher.submit(m) for m in range(1, 6)))
    assert recorder.batches == [[1, 2, 3, 4, 5]]
    assert [(o.message_id, o.ticket_id) for o in outcomes] == [(m, m * 10) for m in range(1, 6)]


async def test_a_batch_holds_at_most_its_size() -> None:
    recorder = Recorder()
    batcher = Batcher(recorder, size=2, wait_s=0.01)
    outcomes = await asyncio.gather(*(batcher.submit(m) for m in range(1, 6)))
    assert recorder.batches == [[1, 2], [3, 4], [5]]
    assert [o.detail for o in outcomes] == ["1", "1", "2", "2", "3"]


async def test_messages_arriving_during_a_batch_form_the_next() -> None:
    gate = asyncio.Event()
    recorder = Recorder(gate=gate)
    batcher = Batcher(recorder, size=50, wait_s=0)
    first = asyncio.create_task(batcher.submit(1))
    await recorder.started.wait()  # the first batch has started, alone
    later = [asyncio.create_task(batcher.submit(m)) for m in (2, 3)]
    gate.set()
    await asyncio.gather(first, *later)
    assert recorder.batches == [[1], [2, 3]]


async def test_a_failed_batch_fails_each_of_its_jobs() -> None:
    batcher = Batcher(Recorder(fail=True), size=50, wait_s=0)
    results = await asyncio.gather(*(batcher.submit(m) for m in (1, 2)), return_exceptions=True)
    assert all(isinstance(r, RuntimeError) for r in results)
    with pytest.raises(RuntimeError):  # and the batcher still works for the next job
        await batcher.submit(3)
