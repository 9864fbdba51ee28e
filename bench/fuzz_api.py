"""The long Schemathesis run: every operation of ``/openapi.json`` of a real ``qanat serve``
on PostgreSQL, with a staff token, valid and invalid data, many examples each.

Prints, per generation mode, the requests sent and the answers by class (2xx, 4xx,
5xx) and the operations that answered 5xx — which must be none. The scratch database
(``QANAT_BENCH_DATABASE_URL``, default ``…/qanat_bench_fuzz`` on the local server) is
dropped and made again.

    .venv/bin/python bench/fuzz_api.py [--examples 50] [--seed 18]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parents[1]))  # the tests' server helper

import asyncpg
import schemathesis
from hypothesis import HealthCheck, given, seed, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.generation.case import Case
from schemathesis.schemas import APIOperation
from sqlalchemy.engine.url import make_url

from tests.support.api_server import ApiServer, fuzzable, start_api_server

DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/qanat_bench_fuzz"


async def fresh_database(url: str) -> None:
    """Drop and create the scratch database."""
    target = make_url(url)
    admin = target.set(database="postgres").render_as_string(hide_password=False)
    connection = await asyncpg.connect(admin)
    try:
        await connection.execute(f'DROP DATABASE IF EXISTS "{target.database}"')
        await connection.execute(f'CREATE DATABASE "{target.database}"')
    finally:
        await connection.close()


def run(
    operation: APIOperation, mode: GenerationMode, server: ApiServer, examples: int, at: int
) -> tuple[Counter[str], list[str]]:
    """Send generated requests to one operation; answers by class, and the 5xx seen."""
    classes: Counter[str] = Counter()
    errors: list[str] = []
    headers = {"Authorization": f"Bearer {server.token}"}

    @seed(at)
    @settings(
        max_examples=examples,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(case=operation.as_strategy(generation_mode=mode))
    def send(case: Case) -> None:
        response = case.call(base_url=server.base, headers=headers, timeout=60)
        classes[f"{response.status_code // 100}xx"] += 1
        if response.status_code >= 500:
            errors.append(f"{case.method} {case.formatted_path} → {response.status_code}")

    with contextlib.suppress(Unsatisfiable):  # nothing to make invalid (no parameters)
        send()
    return classes, errors


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--examples", type=int, default=50, help="examples per operation")
    parser.add_argument("--seed", type=int, default=18)
    options = parser.parse_args()
    url = os.environ.get("QANAT_BENCH_DATABASE_URL", DEFAULT_URL)
    asyncio.run(fresh_database(url))
    with tempfile.TemporaryDirectory(prefix="qanat-fuzz-") as folder:
        server = start_api_server(url, Path(folder))
        try:
            schema = schemathesis.openapi.from_url(f"{server.base}/openapi.json")
            operations = fuzzable(schema)
            print(f"{len(operations)} operations, {options.examples} examples each per mode")
            for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
                started, total, errors = time.monotonic(), Counter[str](), []
                for operation in operations:
                    classes, failed = run(operation, mode, server, options.examples, options.seed)
                    total.update(classes)
                    errors += failed
                seconds = time.monotonic() - started
                sent = sum(total.values())
                print(
                    f"{mode.value}: {sent} requests in {seconds:.0f} s "
                    f"({dict(sorted(total.items()))}); 5xx: {len(errors)}"
                )
                for error in errors[:20]:
                    print("  ", error)
            log = server.log.read_text(encoding="utf-8", errors="replace")
            print(f"server log lines with a traceback: {log.count('Traceback')}")
        finally:
            server.stop()


if __name__ == "__main__":
    main()
