"""Outage scenarios with real processes, shared by ``tests/faults`` and ``bench/outages.py``.

A real ``qanat serve`` and ``qanat worker`` run on a private PostgreSQL and a private
Redis (see :mod:`tests.support.private_services`); a stream of SMS webhooks (a generic
gateway, HMAC-signed) goes on while Redis is killed and then PostgreSQL stopped. What is
measured: every acknowledged message becomes a ticket, how long after recovery the last
one did, and that the worker stayed up — without ``qanat reconcile``.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import asyncpg
import httpx

from tests.support.private_services import PrivatePostgres, PrivateRedis, free_port

ROOT = Path(__file__).parents[2]
GATEWAY_KEY = "outage-hmac-key"
TEXTS = (
    "طفح مجاري في مجمع {b} طريق {r}",
    "حفرة كبيرة في شارع {r} مجمع {b}",
    "Street light out on Road {r}, Block {b}",
)


@dataclass
class Stream:
    """What the stream of webhooks got back."""

    #: Starts each external id, so two streams of one run never repeat an id.
    prefix: str = "out"
    acknowledged: list[str] = field(default_factory=list)
    #: Status code (or error name) → how many answers had it, beyond 200.
    refused: dict[str, int] = field(default_factory=dict)
    sent: int = 0


@dataclass
class Stack:
    """A private store and queue, with ``qanat serve`` and ``qanat worker`` on them."""

    folder: Path
    redis: PrivateRedis
    postgres: PrivatePostgres
    database_url: str
    port: int = 0
    serve: subprocess.Popen[bytes] | None = None
    workers: list[subprocess.Popen[bytes]] = field(default_factory=list)

    def env(self) -> dict[str, str]:
        """The environment of this stack's qanat processes."""
        connectors = self.folder / "connectors.yaml"
        account = {"account": "gw", "provider": "generic", "secret_env": "OUTAGE_GATEWAY_KEY"}
        connectors.write_text(
            json.dumps({"sms": [account | {"auth": "hmac_sha256"}]}), encoding="utf-8"
        )
        return os.environ | {
            "QANAT_DATABASE_URL": self.database_url,
            "QANAT_REDIS_URL": self.redis.url,
            "QANAT_ATTACHMENTS_DIR": str(self.folder / "files"),
            "QANAT_CONNECTORS_FILE": str(connectors),
            "OUTAGE_GATEWAY_KEY": GATEWAY_KEY,
            "QANAT_SWEEP_EVERY_SECONDS": "2",
            "QANAT_SWEEP_GRACE_SECONDS": "2",
            "PYTHONPATH": str(ROOT),
        }

    def start_serve(self) -> None:
        """``qanat serve`` on a free port; returns once ``/healthz`` answers 200."""
        self.port = free_port()
        self.serve = _spawn(["serve", "--port", str(self.port)], self.env(), self.log("serve"))
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            assert self.serve.poll() is None, self.log("serve").read_text()
            try:
                if httpx.get(f"{self.base}/healthz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise AssertionError("qanat serve did not come up")

    def start_worker(self) -> subprocess.Popen[bytes]:
        """One more ``qanat worker``."""
        worker = _spawn(["worker"], self.env(), self.log("worker"))
        self.workers.append(worker)
        return worker

    @property
    def base(self) -> str:
        """The serve process's base URL."""
        return f"http://127.0.0.1:{self.port}"

    def log(self, name: str) -> Path:
        """Where process ``name`` writes its log lines."""
        return self.folder / f"{name}.log"

    def close(self) -> None:
        """Stop the processes and the private servers."""
        for process in [*self.workers, *([self.serve] if self.serve else [])]:
            if process.poll() is None:
                process.terminate()
                try:
                    process.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()
        self.redis.close()
        self.postgres.close()


def _spawn(arguments: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("ab") as handle:
        return subprocess.Popen(
            [sys.executable, "-m", "qanat", *arguments],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=handle,
        )


def build_stack(folder: Path) -> Stack:
    """Start a private Redis and PostgreSQL, migrate a database, return the stack."""
    from qanat.store.migrate import upgrade

    redis, postgres = PrivateRedis(), PrivatePostgres()
    try:
        redis.start()
        postgres.start()
        url = postgres.create_database("qanat")
        upgrade(url)
    except BaseException:
        redis.close()
        postgres.close()
        raise
    return Stack(folder=folder, redis=redis, postgres=postgres, database_url=url)


def signed(body: bytes) -> dict[str, str]:
    """The gateway's headers for ``body``."""
    digest = hmac.new(GATEWAY_KEY.encode(), body, hashlib.sha256).hexdigest()
    return {"Content-Type": "application/json", "X-Qanat-Signature": f"sha256={digest}"}


async def send_for(
    client: httpx.AsyncClient,
    stream: Stream,
    seconds: float,
    *,
    rate: float = 20,
    count: int | None = None,
) -> None:
    """Send one SMS webhook every ``1/rate`` seconds for ``seconds`` (or ``count``
    webhooks back to back); record the answers.

    The pause between sends paces the load; nothing here waits for a result.
    """
    end, last = time.monotonic() + seconds, stream.sent + (count or 0)
    while (stream.sent < last) if count else (time.monotonic() < end):
        number = stream.sent
        stream.sent += 1
        external_id = f"{stream.prefix}-{number}"
        text = TEXTS[number % len(TEXTS)].format(b=300 + number % 40, r=number % 90)
        payload = {"id": external_id, "from": f"+9733{number:07d}", "content": text}
        body = json.dumps(payload, ensure_ascii=False).encode()
        try:
            answer = await client.post("/webhooks/sms/gw", content=body, headers=signed(body))
            key = str(answer.status_code)
        except httpx.HTTPError as exc:
            key = type(exc).__name__
        if key == "200":
            stream.acknowledged.append(external_id)
        else:
            stream.refused[key] = stream.refused.get(key, 0) + 1
        if not count:
            await asyncio.sleep(1 / rate)


async def not_yet_tickets(database_url: str, external_ids: list[str]) -> int:
    """How many of the acknowledged messages are not (yet) on a ticket."""
    connection = await asyncpg.connect(database_url)
    try:
        done = await connection.fetchval(
            "SELECT count(*) FROM message WHERE channel = 'sms' AND ticket_id IS NOT NULL"
            " AND external_id = ANY($1::text[])",
            external_ids,
        )
    finally:
        await connection.close()
    return len(external_ids) - int(done)


async def seconds_until_all_tickets(
    database_url: str, external_ids: list[str], *, since: float, deadline_s: float
) -> float:
    """Poll until every acknowledged message is on a ticket; the seconds since ``since``
    (a ``time.monotonic()``) it took."""
    left = len(external_ids)
    while True:
        with contextlib.suppress(OSError, asyncpg.PostgresError):  # the store coming back
            left = await not_yet_tickets(database_url, external_ids)
        if left == 0:
            return time.monotonic() - since
        assert time.monotonic() - since < deadline_s, f"{left} acknowledged messages stuck"
        await asyncio.sleep(0.25)


@dataclass(frozen=True)
class OutageFigures:
    """What an outage run measured."""

    sent: int
    acknowledged: int
    refused: dict[str, int]
    redis_recovery_s: float
    postgres_recovery_s: float
    worker_alive: bool


async def run_outages(stack: Stack, *, window_s: float, calm_s: float) -> OutageFigures:
    """Stream webhooks; kill Redis for ``window_s``, then stop PostgreSQL for
    ``window_s``; measure how long after each recovery every acknowledged message was a
    ticket (without ``qanat reconcile``)."""
    stream = Stream()
    url = stack.database_url
    async with httpx.AsyncClient(base_url=stack.base, timeout=10) as client:
        await send_for(client, stream, calm_s)
        stack.redis.kill()
        await send_for(client, stream, window_s)
        stack.redis.start()
        back = time.monotonic()
        await send_for(client, stream, calm_s)
        redis_s = await seconds_until_all_tickets(
            url, stream.acknowledged, since=back, deadline_s=120
        )
        stack.postgres.stop()
        await send_for(client, stream, window_s)
        stack.postgres.start()
        back = time.monotonic()
        await send_for(client, stream, calm_s)
        postgres_s = await seconds_until_all_tickets(
            url, stream.acknowledged, since=back, deadline_s=120
        )
    alive = all(worker.poll() is None for worker in stack.workers)
    return OutageFigures(
        stream.sent, len(stream.acknowledged), stream.refused, redis_s, postgres_s, alive
    )
