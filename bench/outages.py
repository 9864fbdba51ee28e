"""Outages with real processes: Redis killed and PostgreSQL stopped for 20 s each during
a stream of SMS webhooks, then a worker killed with ``kill -9`` mid-burst.

Runs a real ``qanat serve`` and ``qanat worker`` on a private PostgreSQL cluster and a
private Redis started for the run (never the machine's shared servers), and prints:
messages sent and acknowledged, what the refusals were, seconds from each recovery until
every acknowledged message was a ticket (no ``qanat reconcile``), whether the worker
stayed up, and the seconds from a ``kill -9`` until the jobs it held ran elsewhere.
The baseline, measured in the same run, is the same stream with no outage: seconds from
its end until every message was a ticket.

    .venv/bin/python bench/outages.py [--window 20] [--calm 5] [--burst 600] [--keep DIR]
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parents[1]))  # the tests' process helpers

import asyncpg
import httpx
from redis.asyncio import Redis

from tests.support.outages import (
    Stack,
    Stream,
    build_stack,
    not_yet_tickets,
    run_outages,
    seconds_until_all_tickets,
    send_for,
)


async def baseline(stack: Stack, calm_s: float) -> tuple[int, float]:
    """The same stream with nothing failing: messages, and seconds to drain after it."""
    stream = Stream(prefix="base")
    async with httpx.AsyncClient(base_url=stack.base, timeout=10) as client:
        await send_for(client, stream, calm_s)
    ended = time.monotonic()
    drained = await seconds_until_all_tickets(
        stack.database_url, stream.acknowledged, since=ended, deadline_s=300
    )
    return len(stream.acknowledged), drained


async def held_jobs(redis_url: str) -> list[int]:
    """Message ids whose processing jobs are claimed (in progress) on Redis now."""
    client = Redis.from_url(redis_url)
    try:
        keys = await client.keys("arq:in-progress:process_message:*")
    finally:
        await client.aclose()
    return [int(key.decode().split(":")[3]) for key in keys]


async def processed(database_url: str, ids: list[int]) -> int:
    """How many of the messages ``ids`` are processed."""
    connection = await asyncpg.connect(database_url)
    try:
        return int(
            await connection.fetchval(
                "SELECT count(*) FROM message WHERE id = ANY($1::int[]) AND state = 'processed'",
                ids,
            )
        )
    finally:
        await connection.close()


async def worker_kill(stack: Stack, count: int) -> tuple[int, int, float, float]:
    """``count`` webhooks saved with no worker running; a worker started and killed with
    SIGKILL a quarter of the way through; a new one started. Returns the messages, the
    jobs the killed worker held, the seconds until the last of those ran elsewhere, and
    the seconds until every message was a ticket."""
    for worker in stack.workers:
        worker.terminate()
        worker.wait()
    stream = Stream(prefix="kill")
    async with httpx.AsyncClient(base_url=stack.base, timeout=10) as client:
        await send_for(client, stream, 0, count=count)
    victim, started = stack.start_worker(), time.monotonic()
    while await not_yet_tickets(stack.database_url, stream.acknowledged) > 0.75 * count:
        assert time.monotonic() - started < 300, "the worker processed nothing"
        await asyncio.sleep(0.02)
    victim.send_signal(signal.SIGKILL)
    victim.wait()
    killed = time.monotonic()
    held = await held_jobs(stack.redis.url)
    stack.start_worker()
    while await processed(stack.database_url, held) < len(held):
        assert time.monotonic() - killed < 300, "held jobs never ran again"
        await asyncio.sleep(0.1)
    held_s = time.monotonic() - killed
    seconds = await seconds_until_all_tickets(
        stack.database_url, stream.acknowledged, since=killed, deadline_s=300
    )
    return len(stream.acknowledged), len(held), held_s, seconds


async def scenario(stack: Stack, options: argparse.Namespace) -> None:
    """Baseline, the two outages, then the kill."""
    sent, drained = await baseline(stack, options.calm)
    print(f"baseline: {sent} messages, all tickets {drained:.1f} s after the stream")
    figures = await run_outages(stack, window_s=options.window, calm_s=options.calm)
    print(
        f"outages of {options.window:.0f} s: sent {figures.sent}, acknowledged "
        f"{figures.acknowledged}, refused {figures.refused}"
    )
    print(
        "  Redis killed: every acknowledged message a ticket "
        f"{figures.redis_recovery_s:.1f} s after Redis was back"
    )
    print(
        "  PostgreSQL stopped: every acknowledged message a ticket "
        f"{figures.postgres_recovery_s:.1f} s after PostgreSQL was back"
    )
    print(f"  worker stayed up: {figures.worker_alive}")
    count, held, held_s, seconds = await worker_kill(stack, options.burst)
    print(
        f"kill -9 of a worker mid-burst ({count} messages): the {held} jobs it held ran "
        f"{held_s:.1f} s after the kill; all tickets {seconds:.1f} s after"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--window", type=float, default=20, help="seconds each service is down")
    parser.add_argument("--calm", type=float, default=5, help="seconds of stream around each")
    parser.add_argument("--burst", type=int, default=600, help="messages in the kill -9 burst")
    parser.add_argument("--keep", type=Path, help="keep the processes' logs in this folder")
    options = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="qanat-outages-") as scratch:
        folder = options.keep or Path(scratch)
        folder.mkdir(parents=True, exist_ok=True)
        stack = build_stack(folder)  # migrates with its own event loop
        try:
            stack.start_serve()
            stack.start_worker()
            asyncio.run(scenario(stack, options))
        finally:
            stack.close()


if __name__ == "__main__":
    main()
