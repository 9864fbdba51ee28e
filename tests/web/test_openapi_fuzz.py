"""Schemathesis against ``/openapi.json`` of a real ``qanat serve`` on PostgreSQL, with a
staff token: a fixed seed and a few examples per operation (CI-sized), valid and
invalid data alike, and no operation may answer 5xx. ``bench/fuzz_api.py`` is the long run.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, given, seed, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.generation.case import Case
from schemathesis.schemas import APIOperation

from tests.conftest import _truncate
from tests.support.api_server import ApiServer, fuzzable, start_api_server

#: Examples per operation and the seed: the same requests on every run.
EXAMPLES = 4
SEED = 18
#: What no answer may carry.
LEAKS = ("Traceback", "INSERT INTO", "[SQL:")


@pytest.fixture(scope="module")
def server(postgres_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ApiServer]:
    asyncio.run(_truncate(postgres_url))
    running = start_api_server(postgres_url, tmp_path_factory.mktemp("fuzz"))
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture(scope="module")
def api_schema(server: ApiServer) -> schemathesis.BaseSchema:
    return schemathesis.openapi.from_url(f"{server.base}/openapi.json")


def fuzz(operation: APIOperation, mode: GenerationMode, server: ApiServer) -> list[str]:
    """Send ``EXAMPLES`` generated requests (fixed seed) to one operation; the 5xx seen."""
    failures: list[str] = []
    headers = {"Authorization": f"Bearer {server.token}"}

    @seed(SEED)
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(case=operation.as_strategy(generation_mode=mode))
    def run(case: Case) -> None:
        response = case.call(base_url=server.base, headers=headers, timeout=30)
        text = response.text
        if response.status_code >= 500 or any(leak in text for leak in LEAKS):
            where = f"{case.method} {case.formatted_path}"
            failures.append(f"{where} → {response.status_code}: {text[:200]}")

    with contextlib.suppress(Unsatisfiable):  # nothing to make invalid (no parameters)
        run()
    return failures


def test_no_operation_answers_a_server_error(
    api_schema: schemathesis.BaseSchema, server: ApiServer
) -> None:
    failures: list[str] = []
    operations = fuzzable(api_schema)
    assert len(operations) > 40  # the whole API is in the document
    for operation in operations:
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            failures += fuzz(operation, mode, server)
    assert not failures, "\n".join(failures[:20])


def test_the_server_logged_no_traceback(server: ApiServer) -> None:
    log = Path(server.log).read_text(encoding="utf-8", errors="replace")
    assert "Traceback" not in log and "INSERT INTO" not in log
