"""Pipeline throughput on the embedded default: messages/s through save + process.

Prints, in one run, the rate of the full path (intake save → normalize → dedupe →
route → commit, inline) and, as the baseline, the rate of saving the same raw messages
alone, so the cost of processing is read against the cost of storing.

    python bench/pipeline.py [--messages 2000]
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from qanat.config import load_settings
from qanat.model import Inbound, Sender
from qanat.runtime import start_runtime, stop_runtime
from qanat.store import queries
from qanat.store.migrate import upgrade

PROBLEMS = [
    "طفح مجاري في مجمع {b} طريق {r}",
    "حفرة كبيرة في شارع {r} مجمع {b}",
    "عمود انارة طايح في طريق {r} بلوك {b}",
    "Garbage not collected on Road {r}, Block {b}",
    "street light out on road {r} block {b} since last week",
]


def messages(count: int) -> list[Inbound]:
    start = datetime(2026, 11, 1, tzinfo=UTC)
    return [
        Inbound(
            channel="sms",
            external_id=f"SM{n:08d}",
            received_at=start + timedelta(seconds=n),
            sender=Sender(handle=f"+9733{n % 9000000:07d}", phone=f"+9733{n % 9000000:07d}"),
            text=PROBLEMS[n % len(PROBLEMS)].format(b=300 + n % 400, r=n % 3000),
        )
        for n in range(count)
    ]


async def full_path(url: str, batch: list[Inbound]) -> float:
    runtime = await start_runtime(load_settings(database_url=url))
    started = time.perf_counter()
    for inbound in batch:
        await runtime.intake.save(inbound)
    elapsed = time.perf_counter() - started
    await stop_runtime(runtime)
    return len(batch) / elapsed


async def save_only(url: str, batch: list[Inbound]) -> float:
    runtime = await start_runtime(load_settings(database_url=url))
    started = time.perf_counter()
    for inbound in batch:
        async with runtime.db.writing() as session:
            await queries.save_message(session, inbound=inbound)
    elapsed = time.perf_counter() - started
    await stop_runtime(runtime)
    return len(batch) / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--messages", type=int, default=2000)
    args = parser.parse_args()
    batch = messages(args.messages)
    with tempfile.TemporaryDirectory() as folder:
        urls = [f"sqlite:///{Path(folder) / name}.db" for name in ("full", "raw")]
        for url in urls:
            upgrade(url)
        full = asyncio.run(full_path(urls[0], batch))
        raw = asyncio.run(save_only(urls[1], batch))
    print(f"messages: {args.messages} (SQLite, inline, one process)")
    print(f"save raw only (baseline): {raw:8.0f} messages/s")
    print(f"save + process (pipeline): {full:8.0f} messages/s  ({full / raw:.0%} of baseline)")


if __name__ == "__main__":
    main()
