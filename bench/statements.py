"""Statements and transactions per message through the pipeline on PostgreSQL: one by
one as before, with ticket numbers in blocks, and in batches as a worker processes them.

Runs the same messages through ``save + process`` (one process) into a fresh PostgreSQL
database for each configuration, and counts the statements the engine sends (a
SQLAlchemy ``before_cursor_execute`` listener) and the transactions it commits:

- ``before`` (the baseline): each message processed as it is saved, in a transaction
  of its own (a batch of one: the departments read with it), ticket numbers one by one;
- ``blocks``: the same, taking ticket numbers ``--block`` at a time;
- ``batched``: as ``blocks``, but the saved messages are processed ``--batch`` at a
  time with :func:`qanat.jobs.batching.process_and_notify` (what a worker runs): one
  transaction per batch, and the batch's notices released together.

Each is run twice, alternated; the best of each is printed. Measured with 500 messages
(load average 8.7): before 19.0 statements and 3.0 commits a message, 16 messages/s;
blocks 17.0 and 3.0; batched 10.2 and 1.06, 32 messages/s (2.0×). With the notices'
wording read once a batch instead of once a notice (300 messages, load 0.7): batched
10.17 → 9.19 statements a message, 1.91× → 2.08× the baseline's rate.

    python bench/statements.py --database-url postgresql://postgres@127.0.0.1/qanat_bench \\
        [--messages 1000] [--block 50] [--batch 50] [--calls]

``--calls`` also counts the Python calls a message costs when processed in batches
(``cProfile``, after the run above): a figure of work that does not move with the
machine's speed, for comparing two checkouts (``PYTHONPATH=../other``). Measured (300
messages): 8,761 calls and 9.19 statements a message before rows filled their default
factories themselves, three hot statements were built once and a new ticket's
acknowledgement stopped asking whether it was decided before; 7,330 and 8.19 after.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import os
import pstats
import time
from typing import Any

from inbox_api import fresh_database  # type: ignore[import-not-found]
from pipeline import messages  # type: ignore[import-not-found]  # bench/pipeline.py
from sqlalchemy import event

from qanat.config import load_settings
from qanat.ingest.intake import StoreIntake
from qanat.jobs.batching import process_and_notify
from qanat.runtime import Runtime, start_runtime, stop_runtime
from qanat.store.migrate import upgrade

#: Figures of one run: statements a message, commits a message, messages/s.
Figures = tuple[float, float, float]


class Collected:
    """A queue that keeps the ids handed to it, for batches to take later."""

    def __init__(self) -> None:
        self.ids: list[int] = []

    async def enqueue_processing(self, message_id: int, *, attempt: int = 0) -> None:
        self.ids.append(message_id)


async def run(url: str, count: int, *, block: int, batch: int) -> Figures:
    """The figures of one configuration (``batch`` 0: each message as it is saved)."""
    runtime = await start_runtime(load_settings(database_url=url, reference_block=block))
    sent, commits = [0], [0]

    def counted(*_: Any) -> None:
        sent[0] += 1

    def committed(*_: Any) -> None:
        commits[0] += 1

    event.listen(runtime.db.engine.sync_engine, "before_cursor_execute", counted)
    event.listen(runtime.db.engine.sync_engine, "commit", committed)
    started = time.perf_counter()
    await (save_in_batches(runtime, count, batch) if batch else save_one_by_one(runtime, count))
    elapsed = time.perf_counter() - started
    await stop_runtime(runtime)
    return sent[0] / count, commits[0] / count, count / elapsed


async def save_one_by_one(runtime: Runtime, count: int) -> None:
    for inbound in messages(count):
        await runtime.intake.save(inbound)


async def save_in_batches(
    runtime: Runtime, count: int, size: int, profiler: cProfile.Profile | None = None
) -> None:
    """Save every message (queued, not processed), then process them ``size`` at a time
    (under ``profiler``, when given)."""
    queue = Collected()
    intake = StoreIntake(
        runtime.db,
        queue,
        attachments_dir=runtime.settings.attachments_dir,
        attachment_max_bytes=runtime.settings.attachment_max_bytes,
    )
    for inbound in messages(count):
        await intake.save(inbound)
    if profiler is not None:
        profiler.enable()
    for start in range(0, len(queue.ids), size):
        await process_and_notify(runtime, queue.ids[start : start + size])
    if profiler is not None:
        profiler.disable()


async def calls_a_message(url: str, count: int, *, block: int, batch: int) -> float:
    """Python calls a message costs processed in batches (``cProfile``)."""
    runtime = await start_runtime(load_settings(database_url=url, reference_block=block))
    profiler = cProfile.Profile()
    await save_in_batches(runtime, count, batch, profiler)
    await stop_runtime(runtime)
    return pstats.Stats(profiler).total_calls / count  # type: ignore[attr-defined, no-any-return]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--database-url",
        default=os.environ.get(
            "QANAT_BENCH_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/qanat_bench"
        ),
        help="a scratch PostgreSQL database, dropped and made again (QANAT_BENCH_DATABASE_URL)",
    )
    parser.add_argument("--messages", type=int, default=1000)
    parser.add_argument("--block", type=int, default=50)
    parser.add_argument("--batch", type=int, default=50)
    parser.add_argument("--calls", action="store_true", help="count Python calls a message")
    args = parser.parse_args()
    if not args.database_url or not args.database_url.startswith("postgresql"):
        parser.error("--database-url postgresql://… (a database this may drop and re-create)")
    configurations = (
        ("before", 1, 0),
        ("blocks", args.block, 0),
        ("batched", args.block, args.batch),
    )
    results: dict[str, list[Figures]] = {name: [] for name, *_ in configurations}
    for _round in range(2):  # alternated, so warming up favours none
        for name, block, batch in configurations:
            asyncio.run(fresh_database(args.database_url))
            upgrade(args.database_url)
            figures = asyncio.run(
                run(
                    args.database_url,
                    args.messages,
                    block=block,
                    batch=batch,
                ),
            )
            results[name].append(figures)
    print(
        f"messages: {args.messages} (PostgreSQL, one process, save + process + notices); "
        f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}"
    )
    base = results["before"]
    for name, *_ in configurations:
        statements = min(s for s, _, _ in results[name])
        commits = min(c for _, c, _ in results[name])
        rate = max(r for _, _, r in results[name])
        label = "before (baseline)" if name == "before" else name
        print(
            f"  {label:18} statements/message {statements:6.2f}  commits/message {commits:5.2f}"
            f"  messages/s (best) {rate:5.0f} ({rate / max(r for _, _, r in base):.2f}x)"
        )

    if args.calls:
        asyncio.run(fresh_database(args.database_url))
        upgrade(args.database_url)
        calls = asyncio.run(
            calls_a_message(args.database_url, args.messages, block=args.block, batch=args.batch)
        )
        print(f"  batched: {calls:,.0f} Python calls a message (processing, cProfile)")


if __name__ == "__main__":
    main()
