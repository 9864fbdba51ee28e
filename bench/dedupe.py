"""Dedupe at scale: decision latency with N open tickets, and what brute force would find.

Builds a store (SQLite by default, or ``--database-url``) holding N open tickets of
realistic bilingual text spread over Bahrain's blocks, then for a sample of new reports:

- the pipeline's decision (``find_duplicate``: candidates by block and time window,
  rapidfuzz scoring) — latency p50 / p99;
- in the same run, brute force: the same scorer over *all* open tickets — its latency,
  the speed ratio, and the share of brute force's matches the decision also finds.

    python bench/dedupe.py [--sizes 10000,100000] [--queries 300] [--brute 50]
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sqlite3
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlmodel import select

from qanat.dedupe import service
from qanat.dedupe.similarity import DEFAULT_THRESHOLD, Report, combined_score, features
from qanat.normalize.text import match_form
from qanat.store.db import Database
from qanat.store.migrate import upgrade
from qanat.store.tables import Ticket

PROBLEMS = [
    (
        "sewage_overflow",
        "sewage",
        [
            "طفح مجاري في طريق {r}",
            "المجاري طافحة عند البيوت طريق {r}",
            "sewage overflowing on road {r}",
        ],
    ),
    (
        "pothole",
        "roads",
        [
            "حفرة كبيرة في الشارع {r}",
            "حفره عميقه في طريق {r} بعد الدوار",
            "huge pothole on road {r}",
        ],
    ),
    (
        "street_light_out",
        "street_lighting",
        [
            "الانارة طافية في طريق {r}",
            "اعمدة الانارة طافيه شارع {r}",
            "street lights out on road {r}",
        ],
    ),
    (
        "garbage",
        "cleanliness",
        [
            "الزبالة متراكمة عند الحاويات طريق {r}",
            "القمامه ما انشالت من ايام {r}",
            "rubbish not collected on road {r}",
        ],
    ),
]
T0 = datetime(2026, 11, 1, tzinfo=UTC)


def synthetic_ticket(rng: random.Random, n: int) -> tuple[object, ...]:
    category, _department, texts = rng.choice(PROBLEMS)
    block = str(rng.randint(101, 1299))
    road = str(rng.randint(1, 5000))
    created = T0 + timedelta(minutes=rng.randint(0, 60 * 24 * 13))
    text = match_form(
        rng.choice(texts).format(r=road) + f" {rng.choice(['', 'من يومين', 'please fix'])}"
    )
    return (
        f"QN-2026-{n:07d}",
        "complaint",
        "open",
        "normal",
        "sms",
        text,
        block,
        road,
        category,
        created.isoformat(),
        created.isoformat(),
        "[]",
        0,
    )


def build(path: Path, size: int, seed: int) -> float:
    upgrade(f"sqlite:///{path}")
    rng = random.Random(seed)
    started = time.perf_counter()
    connection = sqlite3.connect(path)
    connection.executemany(
        "INSERT INTO ticket (reference, kind, status, priority, channel, match_text, block, road,"
        " category, created_at, updated_at, flags, needs_triage) "
        "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
        (synthetic_ticket(rng, n) for n in range(size)),
    )
    connection.commit()
    connection.close()
    return time.perf_counter() - started


def queries(path: Path, count: int, seed: int) -> list[Report]:
    """New reports: half repeat an existing ticket in other words, half are new problems."""
    rng = random.Random(seed)
    connection = sqlite3.connect(path)
    rows = connection.execute(
        "SELECT block, road, category, created_at FROM ticket ORDER BY random() LIMIT ?", (count,)
    ).fetchall()
    connection.close()
    reports = []
    for index, (block, road, category, created) in enumerate(rows):
        texts = next(t for c, _d, t in PROBLEMS if c == category)
        if index % 2:
            block, road = str(rng.randint(101, 1299)), str(rng.randint(1, 5000))
        reports.append(
            Report(
                match_text=match_form(rng.choice(texts).format(r=road)),
                created_at=datetime.fromisoformat(created) + timedelta(hours=3),
                block=block,
                road=road,
                category=category,
                department=next(d for c, d, _t in PROBLEMS if c == category),
            )
        )
    return reports


async def measure(url: str, reports: list[Report], brute: int) -> dict[str, float]:
    database = Database.from_url(url)
    latencies, found = [], {}
    async with database.session() as session:
        for index, report in enumerate(reports):
            started = time.perf_counter()
            decision = await service.find_duplicate(session, new=report)
            latencies.append((time.perf_counter() - started) * 1000)
            found[index] = decision.primary_ticket_id
        everything = list((await session.execute(select(Ticket))).scalars())
    await database.dispose()
    brute_hits = brute_agree = 0
    brute_ms = []
    for index, report in enumerate(reports[:brute]):
        started = time.perf_counter()
        best = max(
            ((combined_score(features(report, service.report_of(t))), t.id) for t in everything),
            default=(0.0, None),
        )
        brute_ms.append((time.perf_counter() - started) * 1000)
        if best[0] >= DEFAULT_THRESHOLD:
            brute_hits += 1
            brute_agree += found[index] is not None
    ordered = sorted(latencies)
    return {
        "p50": statistics.median(ordered),
        "p99": ordered[int(len(ordered) * 0.99) - 1],
        "brute_ms": statistics.median(brute_ms) if brute_ms else 0.0,
        "brute_hits": brute_hits,
        "kept": brute_agree / brute_hits if brute_hits else 1.0,
        "linked": sum(1 for v in found.values() if v is not None) / len(found),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", default="10000,100000")
    parser.add_argument("--queries", type=int, default=300)
    parser.add_argument("--brute", type=int, default=20)
    args = parser.parse_args()
    for size in (int(s) for s in args.sizes.split(",")):
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / "bench.db"
            build_s = build(path, size, seed=size)
            reports = queries(path, args.queries, seed=size + 1)
            result = asyncio.run(measure(f"sqlite:///{path}", reports, args.brute))
            size_mb = path.stat().st_size / 1e6
        print(f"{size:>9,} open tickets (SQLite {size_mb:,.0f} MB, built in {build_s:.1f} s)")
        print(
            f"  decision p50 {result['p50']:.2f} ms, p99 {result['p99']:.2f} ms; "
            f"linked {result['linked']:.0%} of {args.queries} new reports"
        )
        print(
            f"  brute force over all open tickets: {result['brute_ms']:.1f} ms per report "
            f"({result['brute_ms'] / result['p50']:.0f}x slower); the decision kept "
            f"{result['kept']:.1%} of its {result['brute_hits']} matches"
        )


if __name__ == "__main__":
    main()
