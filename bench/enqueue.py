"""Enqueue: what handing a saved message to the workers costs ``qanat serve``.

Queues ``--jobs`` processing jobs on a scratch Redis database, ``--concurrency`` at a
time (as concurrent webhooks do), two ways in the same run, alternated over two rounds:
arq's own ``enqueue_job`` (WATCH / EXISTS / MULTI … EXEC: three round trips on a
connection of its own) as the baseline, and qanat's :class:`~qanat.jobs.queue.ArqQueue`
(the same keys and job format in one atomic script). Prints jobs/s, latency p50 / p99
and the CPU this process used per job.

    python bench/enqueue.py [--jobs 5000] [--concurrency 32]

``QANAT_BENCH_REDIS_URL`` chooses the Redis database (flushed before each run).

Measured on the shared 2-core machine (load average 6.8), 3000 jobs, 32 at a time:
arq's enqueue 1146 jobs/s, p50 18.9 ms, p99 150 ms, 0.25 ms CPU a job; the script
2217 jobs/s, p50 8.1 ms, p99 74 ms, 0.13 ms CPU a job.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import time
from collections.abc import Awaitable, Callable

from arq import create_pool
from arq.connections import RedisSettings

from qanat.jobs.queue import PROCESS_JOB, ArqQueue, process_job_id

REDIS = os.environ.get("QANAT_BENCH_REDIS_URL", "redis://127.0.0.1:6379/14")


async def measure(
    enqueue: Callable[[int], Awaitable[None]], jobs: int, concurrency: int
) -> tuple[float, float, float, float]:
    """(jobs/s, p50 ms, p99 ms, CPU ms a job) for ``jobs`` enqueues."""
    latencies: list[float] = []
    slots = asyncio.Semaphore(concurrency)

    async def one(n: int) -> None:
        async with slots:
            started = time.perf_counter()
            await enqueue(n)
            latencies.append((time.perf_counter() - started) * 1000)

    cpu, wall = time.process_time(), time.perf_counter()
    await asyncio.gather(*(one(n) for n in range(jobs)))
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    latencies.sort()
    return (
        jobs / wall,
        latencies[len(latencies) // 2],
        latencies[int(len(latencies) * 0.99)],
        (cpu / jobs * 1000),
    )


async def arq_way(jobs: int, concurrency: int) -> tuple[float, float, float, float]:
    pool = await create_pool(RedisSettings.from_dsn(REDIS))
    await pool.flushdb()

    async def enqueue(n: int) -> None:
        await pool.enqueue_job(PROCESS_JOB, n, _job_id=process_job_id(n))

    try:
        return await measure(enqueue, jobs, concurrency)
    finally:
        await pool.aclose()


async def qanat_way(jobs: int, concurrency: int) -> tuple[float, float, float, float]:
    queue = ArqQueue(REDIS)
    pool = await create_pool(RedisSettings.from_dsn(REDIS))
    await pool.flushdb()
    await pool.aclose()
    try:
        return await measure(queue.enqueue_processing, jobs, concurrency)
    finally:
        await queue.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--jobs", type=int, default=5000)
    parser.add_argument("--concurrency", type=int, default=32)
    args = parser.parse_args()
    results: dict[str, list[tuple[float, float, float, float]]] = {"arq": [], "qanat": []}
    for _round in range(2):  # alternated, so warming up favours neither
        results["arq"].append(asyncio.run(arq_way(args.jobs, args.concurrency)))
        results["qanat"].append(asyncio.run(qanat_way(args.jobs, args.concurrency)))
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    print(f"{args.jobs} enqueues, {args.concurrency} at a time; load average {load}")
    for name, label in (("arq", "arq enqueue_job (baseline)"), ("qanat", "one script (qanat)")):
        rate, p50, p99, cpu = max(results[name])
        print(
            f"  {label:28} {rate:6.0f} jobs/s  p50 {p50:5.2f} ms  p99 {p99:5.2f} ms  "
            f"CPU {cpu:.2f} ms a job"
        )


if __name__ == "__main__":
    main()
