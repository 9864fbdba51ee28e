"""Messages processed together: the jobs a worker runs at the same moment share a batch.

Each arq job still stands for one message (its id, its tries, its result), so retries,
the sweep and the reconciliation see no difference; the jobs that are running hand
their messages to one :class:`Batcher`, which processes them in one transaction per
batch (:func:`qanat.pipeline.process_batch`) and hands each job its own outcome.

A batch is bounded twice: at most ``size`` messages, and a job that arrives while no
batch is running waits at most ``wait_s`` for others to join. While a batch runs, the
jobs that arrive gather for the next one, so a busy worker makes large batches and an
idle one answers a lone message after ``wait_s``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from qanat.outbound.deps import OutboundDeps
from qanat.outbound.notices import send_due_notices
from qanat.pipeline import Outcome, PipelineDeps, process_batch


class BatchDeps(PipelineDeps, OutboundDeps, Protocol):
    """What processing a batch and sending its notices need (the runtime gives both)."""


#: What processes a batch: message ids in, one outcome per id out, in the same order.
ProcessBatch = Callable[[Sequence[int]], Awaitable[list[Outcome]]]


@dataclass
class Batcher:
    """Gathers the messages of concurrent jobs into batches, one batch at a time."""

    process: ProcessBatch
    #: The most messages in one batch.
    size: int = 50
    #: How long a lone message waits for others before its batch starts.
    wait_s: float = 0.02
    _waiting: list[tuple[int, asyncio.Future[Outcome]]] = field(default_factory=list)
    _runner: asyncio.Task[None] | None = None

    async def submit(self, message_id: int) -> Outcome:
        """Process ``message_id`` with whatever else is waiting; its outcome."""
        future: asyncio.Future[Outcome] = asyncio.get_running_loop().create_future()
        self._waiting.append((message_id, future))
        if self._runner is None:
            self._runner = asyncio.create_task(self._run())
        return await asyncio.shield(future)  # a job cancelled leaves its batch running

    async def _run(self) -> None:
        try:
            if len(self._waiting) < self.size:
                await asyncio.sleep(self.wait_s)  # the jobs started with this one join it
            while self._waiting:
                batch, self._waiting = self._waiting[: self.size], self._waiting[self.size :]
                await self._one(batch)
        finally:
            self._runner = None
            for _, future in self._waiting:  # only when cancelled (the worker stops)
                future.cancel()
            self._waiting = []

    async def _one(self, batch: list[tuple[int, asyncio.Future[Outcome]]]) -> None:
        try:
            outcomes = await self.process([message_id for message_id, _ in batch])
        except BaseException as exc:  # each job fails as its own call would have
            for _, future in batch:
                if future.done():
                    continue
                if isinstance(exc, Exception):
                    future.set_exception(exc)
                else:
                    future.cancel()
            if not isinstance(exc, Exception):
                raise
            return
        for (_, future), outcome in zip(batch, outcomes, strict=True):
            if not future.done():
                future.set_result(outcome)


async def process_and_notify(deps: BatchDeps, message_ids: Sequence[int]) -> list[Outcome]:
    """Process a batch, then release the notices its messages decided (after its commit,
    in one transaction for the whole batch); the outcomes, in the order asked."""
    outcomes = await process_batch(deps, message_ids)
    noticed = [o.ticket_id for o in outcomes if o.ticket_id is not None and o.noticed]
    if noticed:
        await send_due_notices(deps, ticket_ids=noticed)
    return outcomes
