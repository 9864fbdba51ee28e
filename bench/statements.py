"""Statements per message through the pipeline on PostgreSQL, before and after the
per-process department list and ticket numbers taken in blocks.

Runs the same messages twice through ``save + process`` (inline, one process) into a
fresh PostgreSQL database each time and counts the statements the engine sends with a
SQLAlchemy ``before_cursor_execute`` listener. The baseline run reads the departments
for every ticket and takes ticket numbers one by one (as the pipeline did); the second
keeps the departments for the process and takes numbers ``--block`` at a time.

    python bench/statements.py --database-url postgresql://postgres@127.0.0.1/qanat_bench \\
        [--messages 1000] [--block 50]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import time
from typing import Any

from inbox_api import fresh_database  # type: ignore[import-not-found]
from pipeline import messages  # type: ignore[import-not-found]  # bench/pipeline.py
from sqlalchemy import event

from qanat.config import load_settings
from qanat.runtime import start_runtime, stop_runtime
from qanat.store import queries
from qanat.store.migrate import upgrade


async def run(url: str, count: int, *, block: int, keep_departments: bool) -> tuple[float, float]:
    """(statements per message, messages/s) for one configuration."""
    queries.DEPARTMENTS_KEPT_S = 60.0 if keep_departments else -1.0
    runtime = await start_runtime(load_settings(database_url=url, reference_block=block))
    sent = [0]

    def counted(*_: Any) -> None:
        sent[0] += 1

    event.listen(runtime.db.engine.sync_engine, "before_cursor_execute", counted)
    batch = messages(count)
    started = time.perf_counter()
    for inbound in batch:
        await runtime.intake.save(inbound)
    elapsed = time.perf_counter() - started
    await stop_runtime(runtime)
    return sent[0] / count, count / elapsed


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
    args = parser.parse_args()
    if not args.database_url or not args.database_url.startswith("postgresql"):
        parser.error("--database-url postgresql://… (a database this may drop and re-create)")
    results: dict[str, list[tuple[float, float]]] = {"before": [], "after": []}
    for _round in range(2):  # alternated, so warming up favours neither
        for name, block, keep in (("before", 1, False), ("after", args.block, True)):
            asyncio.run(fresh_database(args.database_url))
            upgrade(args.database_url)
            figures = asyncio.run(
                run(args.database_url, args.messages, block=block, keep_departments=keep)
            )
            results[name].append(figures)
    print(
        f"messages: {args.messages} (PostgreSQL, inline, one process); load average "
        f"{' '.join(f'{x:.2f}' for x in os.getloadavg())}"
    )
    b_statements = min(s for s, _ in results["before"])
    a_statements = min(s for s, _ in results["after"])
    b_rate = max(r for _, r in results["before"])
    a_rate = max(r for _, r in results["after"])
    print(
        f"statements/message  before (baseline): {b_statements:6.2f}   after: {a_statements:6.2f}"
        f"  ({a_statements - b_statements:+.2f})"
    )
    print(
        f"messages/s (best)   before (baseline): {b_rate:6.0f}   after: {a_rate:6.0f}"
        f"  ({a_rate / b_rate:.2f}x)"
    )


if __name__ == "__main__":
    main()
