"""Load: SMS webhooks at a steady rate into ``qanat serve`` with workers on PostgreSQL.

Starts, on loopback, a real ``qanat serve`` (jobs to Redis) and ``--workers`` real
``qanat worker`` processes on a scratch PostgreSQL database, then a separate process
posts ``--requests`` generic-gateway SMS webhooks at ``--rate`` per second. Prints:
acknowledgement latency p50 / p99 and errors; processing latency p50 / p99 (saved →
processed) and sustained end-to-end messages/s; and, in the same run, the raw insert
rate of the same rows into PostgreSQL as the reference.

    python bench/load.py [--rate 200] [--requests 2000] [--workers 2]

Targets (issue): webhook ack p99 ≤ 50 ms at 500 req/s; end-to-end ≥ 50 % of raw inserts.
Traffic stays on 127.0.0.1 and the run stops by itself.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import asyncpg
import httpx

DATABASE = "postgresql://postgres@127.0.0.1:5432/qanat_bench"
REDIS = "redis://127.0.0.1:6379/14"
SECRET = "bench-secret"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def body(n: int) -> bytes:
    text = [
        "طفح مجاري في مجمع 305 طريق 45",
        "حفرة كبيرة في طريق 915 مجمع 904",
        "الانارة طافية في طريق 3803 مجمع 838",
        "Garbage not collected, block 604",
    ][n % 4]
    return json.dumps(
        {"id": f"load-{n}", "from": f"+9733{n % 9_000_000:07d}", "content": f"{text} ({n})"},
        ensure_ascii=False,
    ).encode()


def generate(url: str, rate: float, count: int, results: multiprocessing.Queue[object]) -> None:
    """The load generator (its own process): steady rate, one latency per request."""

    async def run() -> tuple[list[float], int]:
        latencies: list[float] = []
        errors = 0
        limits = httpx.Limits(max_connections=200, max_keepalive_connections=200)
        async with httpx.AsyncClient(limits=limits, timeout=30) as client:

            async def one(n: int) -> None:
                nonlocal errors
                started = time.perf_counter()
                try:
                    response = await client.post(
                        url,
                        content=body(n),
                        headers={"content-type": "application/json", "x-qanat-signature": SECRET},
                    )
                    if response.status_code != 200:
                        errors += 1
                except httpx.HTTPError:
                    errors += 1
                latencies.append((time.perf_counter() - started) * 1000)

            tasks = []
            start = time.perf_counter()
            for n in range(count):
                delay = start + n / rate - time.perf_counter()
                if delay > 0:
                    await asyncio.sleep(delay)
                tasks.append(asyncio.create_task(one(n)))
            await asyncio.gather(*tasks)
        return latencies, errors

    results.put(asyncio.run(run()))


async def reset(url: str) -> None:
    admin = await asyncpg.connect(url.rsplit("/", 1)[0] + "/postgres")
    await admin.execute("DROP DATABASE IF EXISTS qanat_bench WITH (FORCE)")
    await admin.execute("CREATE DATABASE qanat_bench")
    await admin.close()


async def processed(url: str) -> tuple[int, list[float], float | None]:
    connection = await asyncpg.connect(url)
    rows = await connection.fetch(
        "SELECT EXTRACT(EPOCH FROM processed_at - created_at) AS s, processed_at FROM message "
        "WHERE state = 'processed'"
    )
    await connection.close()
    last = max((r["processed_at"] for r in rows), default=None)
    return len(rows), [float(r["s"]) * 1000 for r in rows], last.timestamp() if last else None


async def raw_insert_rate(url: str, count: int) -> float:
    """The reference: the same rows saved through qanat's own insert, one per transaction."""
    from qanat.interchange import parse_line
    from qanat.store import queries
    from qanat.store.db import Database

    database = Database.from_url(url)
    records = [
        parse_line(
            json.dumps(
                {
                    "channel": "sms",
                    "account": "raw",
                    "external_id": f"raw-{n}",
                    "received_at": datetime.now(UTC).isoformat(),
                    "sender": {"handle": "+97333000000"},
                    "text": body(n).decode(),
                }
            )
        )
        for n in range(count)
    ]
    started = time.perf_counter()
    for inbound in records:
        async with database.writing() as session:
            await queries.save_message(session, inbound=inbound)
    elapsed = time.perf_counter() - started
    await database.dispose()
    return count / elapsed


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * share))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rate", type=float, default=200)
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    asyncio.run(reset(DATABASE))
    folder = Path(tempfile.mkdtemp())
    accounts = folder / "connectors.yaml"
    accounts.write_text(f"sms:\n  - {{account: load, provider: generic, secret: {SECRET}}}\n")
    port = free_port()
    env = os.environ | {
        "QANAT_DATABASE_URL": DATABASE,
        "QANAT_REDIS_URL": REDIS,
        "QANAT_CONNECTORS_FILE": str(accounts),
        "QANAT_LOG_LEVEL": "WARNING",
        "QANAT_ATTACHMENTS_DIR": str(folder / "files"),
    }
    subprocess.run(
        [sys.executable, "-m", "qanat", "db", "upgrade"], env=env, check=True, capture_output=True
    )
    subprocess.run(["redis-cli", "-n", "14", "flushdb"], check=True, capture_output=True)
    processes = [
        subprocess.Popen(
            [sys.executable, "-m", "qanat", "serve", "--port", str(port)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
    ]
    processes += [
        subprocess.Popen(
            [sys.executable, "-m", "qanat", "worker"],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for _ in range(args.workers)
    ]
    try:
        for _ in range(100):
            try:
                if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.2)
        results: multiprocessing.Queue[object] = multiprocessing.Queue()
        started = time.time()
        generator = multiprocessing.Process(
            target=generate,
            args=(f"http://127.0.0.1:{port}/webhooks/sms/load", args.rate, args.requests, results),
        )
        generator.start()
        latencies, errors = results.get(timeout=600)  # type: ignore[misc]
        generator.join()
        deadline = time.time() + 300
        while True:
            count, processing, last = asyncio.run(processed(DATABASE))
            if count >= args.requests - errors or time.time() > deadline:
                break
            time.sleep(0.5)
    finally:
        for process in processes:
            process.terminate()
            process.wait(timeout=20)
    reference = asyncio.run(raw_insert_rate(DATABASE, min(args.requests, 2000)))
    end_to_end = count / ((last or time.time()) - started)
    print(f"{args.requests} SMS webhooks at {args.rate:.0f}/s, {args.workers} workers, PostgreSQL")
    print(
        f"  ack latency p50 {statistics.median(latencies):.1f} ms, "
        f"p99 {percentile(latencies, 0.99):.1f} ms, errors {errors}"
    )
    print(
        f"  processed {count}; processing latency p50 {statistics.median(processing):.0f} ms, "
        f"p99 {percentile(processing, 0.99):.0f} ms"
    )
    print(
        f"  end to end {end_to_end:.0f} msg/s; raw insert reference {reference:.0f} rows/s "
        f"({end_to_end / reference:.0%})"
    )


if __name__ == "__main__":
    main()
