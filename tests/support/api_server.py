"""A real ``qanat serve`` with a seeded store and an admin's API token, for fuzzing its
OpenAPI document (``tests/web/test_openapi_fuzz.py``, ``bench/fuzz_api.py``)."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from tests.support.private_services import free_port

ROOT = Path(__file__).parents[2]
SEED = ROOT / "tests" / "web" / "fixtures" / "inbox_seed.jsonl"


async def _seed(database_url: str, folder: Path) -> str:
    """The seed tickets, an admin, and an API token with every staff scope (its secret)."""
    from qanat.config import load_settings
    from qanat.ingest.interchange import import_file
    from qanat.runtime import start_runtime, stop_runtime
    from qanat.store import staff
    from qanat.store.tables import User

    settings = load_settings(
        database_url=database_url, redis_url=None, attachments_dir=folder / "files"
    )
    runtime = await start_runtime(settings)
    try:
        await import_file(runtime.intake, SEED)
        async with runtime.db.writing() as session:
            admin = User(username="fuzz", display_name="fuzz", password_hash="x", role="admin")
            session.add(admin)
            await session.flush()
            assert admin.id is not None
            _token, secret = await staff.create_api_token(
                session,
                name="fuzz",
                user_id=admin.id,
                scopes=["read", "write", "submit"],
                created_by_id=None,
            )
    finally:
        await stop_runtime(runtime)
    return secret


@dataclass
class ApiServer:
    """A running ``qanat serve`` and the bearer token to call it with."""

    base: str
    token: str
    process: subprocess.Popen[bytes]
    log: Path

    def stop(self) -> None:
        """Stop the server."""
        self.process.terminate()
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def start_api_server(database_url: str, folder: Path) -> ApiServer:
    """Migrate and seed ``database_url``, then serve it (jobs inline) on a free port."""
    from qanat.store.migrate import upgrade

    upgrade(database_url)
    token = asyncio.run(_seed(database_url, folder))
    port, log = free_port(), folder / "serve.log"
    env = os.environ | {
        "QANAT_DATABASE_URL": database_url,
        "QANAT_ATTACHMENTS_DIR": str(folder / "files"),
        "QANAT_LOG_LEVEL": "WARNING",
        "PYTHONPATH": str(ROOT),
    }
    env.pop("QANAT_REDIS_URL", None)
    with log.open("ab") as handle:
        process = subprocess.Popen(
            [sys.executable, "-m", "qanat", "serve", "--port", str(port)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=handle,
        )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert process.poll() is None, log.read_text()
        try:
            if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                return ApiServer(base, token, process, log)
        except httpx.HTTPError:
            time.sleep(0.1)
    process.kill()
    raise AssertionError(f"qanat serve did not come up: {log.read_text()}")


#: Operations that are not request and answer: the live stream stays open for minutes
#: (its own tests cover it).
STREAMS = ("/events/stream",)


def fuzzable(schema: Any) -> list[Any]:
    """The schema's operations a fuzzer can call one request at a time."""
    operations = [result.ok() for result in schema.get_all_operations()]
    return [operation for operation in operations if operation.path not in STREAMS]
