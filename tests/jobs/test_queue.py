"""The inline queue: each job at once, or saved messages held and processed in batches."""

from __future__ import annotations

from typing import Any

import pytest

from qanat.jobs.queue import PROCESS_BATCH_JOB, PROCESS_JOB, InlineQueue


class Jobs:
    """Records what the queue ran: single messages and batches."""

    def __init__(self) -> None:
        self.ran: list[Any] = []

    def table(self) -> dict[str, Any]:
        async def one(message_id: int) -> None:
            self.ran.append(message_id)

        async def batch(message_ids: list[int]) -> None:
            self.ran.append(list(message_ids))

        return {PROCESS_JOB: one, PROCESS_BATCH_JOB: batch}


async def test_each_message_is_processed_at_once_outside_a_batching_block() -> None:
    jobs = Jobs()
    queue = InlineQueue(jobs.table())
    for message_id in (1, 2):
        await queue.enqueue_processing(message_id)
    assert jobs.ran == [1, 2]


async def test_held_messages_go_in_full_batches_then_the_rest_at_the_end() -> None:
    jobs = Jobs()
    queue = InlineQueue(jobs.table())
    async with queue.in_batches(2):
        for message_id in range(1, 6):
            await queue.enqueue_processing(message_id)
        assert jobs.ran == [[1, 2], [3, 4]]  # the fifth waits for company
    assert jobs.ran == [[1, 2], [3, 4], [5]]
    await queue.enqueue_processing(6)  # the block is over: at once again
    assert jobs.ran[-1] == 6


async def test_a_failed_block_leaves_what_it_held_for_the_sweeper() -> None:
    jobs = Jobs()
    queue = InlineQueue(jobs.table())
    with pytest.raises(KeyboardInterrupt):
        async with queue.in_batches(10):
            await queue.enqueue_processing(1)
            raise KeyboardInterrupt
    assert jobs.ran == []  # saved and waiting: not processed half-way out of an error
    await queue.enqueue_processing(2)
    assert jobs.ran == [2]
