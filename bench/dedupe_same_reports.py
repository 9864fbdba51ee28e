"""Dedupe decisions of two checkouts of qanat on the very same reports.

``bench/dedupe.py`` generates its reports with the code it runs, so two versions of qanat
measured by their own ``bench/dedupe.py`` see different reports, and on a shared machine
a single figure moves by a third from one run to the next. This writes the reports once
(plain fields, JSON Lines) and times the decisions of whichever qanat is imported on
them, so two checkouts are measured one after the other on the same reports:

    python bench/dedupe_same_reports.py              # 100,000 tickets, this checkout
    python bench/dedupe_same_reports.py write reports.jsonl [--size 1000000]
    python bench/dedupe_same_reports.py time reports.jsonl
    PYTHONPATH=../older-checkout python bench/dedupe_same_reports.py time reports.jsonl

Only what this file imports must exist in both: ``Report``, ``CandidateIndex``,
``entry_of`` and ``load_rules``; fields a version's ``Report`` lacks are left out.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import random
import statistics
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path
from typing import Any

from qanat.dedupe.index import CandidateIndex, entry_of
from qanat.dedupe.similarity import Report
from qanat.router.rules import load_rules

sys.path.insert(0, str(Path(__file__).parent))


def write(path: Path, size: int, queries: int) -> None:
    """Open tickets and new reports as ``bench/dedupe.py`` generates them, as plain fields."""
    import dedupe as generator  # bench/dedupe.py, beside this file

    rng = random.Random(size)
    places = generator.Places(rng)
    filed = generator.backlog(rng, places, size, 120)
    reports = generator.new_reports(rng, places, filed, queries)
    with path.open("w", encoding="utf-8") as out:
        for part, found in (("filed", filed), ("new", reports)):
            for report in found:
                fields = dataclasses.asdict(report)
                fields["created_at"] = report.created_at.isoformat()
                out.write(json.dumps({"part": part, **fields}, ensure_ascii=False) + "\n")
    print(f"{path}: {len(filed):,} open tickets, {len(reports):,} new reports")


def read(path: Path) -> tuple[list[Report], list[Report]]:
    names = {field.name for field in dataclasses.fields(Report)}
    parts: dict[str, list[Report]] = {"filed": [], "new": []}
    with path.open(encoding="utf-8") as lines:
        for line in lines:
            fields: dict[str, Any] = json.loads(line)
            fields["created_at"] = datetime.fromisoformat(fields["created_at"])
            kept = {name: value for name, value in fields.items() if name in names}
            parts[fields["part"]].append(Report(**kept))
    return parts["filed"], parts["new"]


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * share))]


def measure(path: Path, passes: int) -> None:
    """Build the index of the open tickets, then time every new report's decision."""
    filed, reports = read(path)
    index = CandidateIndex()
    started = time.perf_counter()
    for ticket_id, report in enumerate(filed, start=1):
        index.put(ticket_id, entry_of(report))
    built = time.perf_counter() - started
    policy = load_rules().dedupe

    def decide(report: Report) -> tuple[float, bool]:
        cpu = time.thread_time()
        found = index.best_match(
            report,
            threshold=policy.threshold_for(report.category),
            window=policy.window_for(report.category),
        )
        return (time.thread_time() - cpu) * 1000, found is not None

    for report in reports[:50]:
        decide(report)  # warm up
    print(f"{len(filed):,} open tickets, index built in {built:.1f} s")
    for number in range(passes):
        timed = [decide(report) for report in reports]
        cpu = [ms for ms, _found in timed]
        linked = sum(1 for _ms, found in timed if found) / len(timed)
        print(
            f"  pass {number + 1}: CPU p50 {statistics.median(cpu):.3f} ms, "
            f"p99 {percentile(cpu, 0.99):.3f} ms; linked {linked:.0%}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("action", nargs="?", choices=["write", "time"])
    parser.add_argument("file", nargs="?", type=Path)
    parser.add_argument("--size", type=int, default=1_000_000)
    parser.add_argument("--queries", type=int, default=2000)
    parser.add_argument("--passes", type=int, default=2)
    args = parser.parse_args()
    if args.action is None or args.file is None:  # as `make bench` runs it: both, smaller
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / "reports.jsonl"
            write(path, min(args.size, 100_000), args.queries)
            measure(path, args.passes)
    elif args.action == "write":
        write(args.file, args.size, args.queries)
    else:
        measure(args.file, args.passes)


if __name__ == "__main__":
    main()
