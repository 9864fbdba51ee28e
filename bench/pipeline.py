"""Pipeline throughput on the embedded default: messages/s through save + process.

Prints, in one run, the rate of the full path (intake save → normalize → dedupe →
route → commit, inline) and, as the baseline, the rate of saving the same raw messages
alone, so the cost of processing is read against the cost of storing; then the full path
again with each citizen acknowledged (the notice decided, released and sent through a
gateway that takes everything at once), against the full path without.

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
from qanat.model import Inbound, Reply, Sender, SentReply
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


class InstantGateway:
    """An SMS gateway that takes every message at once (what a real one costs is not
    qanat's)."""

    async def send(self, reply: Reply) -> SentReply:
        return SentReply(external_id=f"out-{reply.ticket_reference}")


async def full_path(url: str, batch: list[Inbound], *, notices: bool = False) -> float:
    settings = load_settings(database_url=url, notices=notices, notice_quiet_hours="")
    runtime = await start_runtime(settings)
    runtime.senders["sms"] = InstantGateway()
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
        names = ("full", "raw", "acknowledged")
        urls = [f"sqlite:///{Path(folder) / name}.db" for name in names]
        for url in urls:
            upgrade(url)
        full = asyncio.run(full_path(urls[0], batch))
        raw = asyncio.run(save_only(urls[1], batch))
        told = asyncio.run(full_path(urls[2], batch, notices=True))
    print(f"messages: {args.messages} (SQLite, inline, one process)")
    print(f"save raw only (baseline): {raw:8.0f} messages/s")
    print(f"save + process (pipeline): {full:8.0f} messages/s  ({full / raw:.0%} of baseline)")
    print(
        f"save + process + acknowledge: {told:8.0f} messages/s  "
        f"({told / full:.0%} of the pipeline without notices)"
    )


if __name__ == "__main__":
    main()
