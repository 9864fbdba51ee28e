"""Fault tests with real processes, PostgreSQL and Redis: sources replaying what they sent
after a restart, messages that arrived while qanat was stopped, and a poison message."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from imapclient import IMAPClient
from sqlalchemy import delete, func, select

from qanat.config import Settings, load_settings
from qanat.ingest.x.connector import SPEC as X_SPEC
from qanat.jobs.listers import sources_for
from qanat.jobs.reconcile import reconcile
from qanat.model import Inbound, Sender
from qanat.runtime import Runtime, start_runtime, stop_runtime
from qanat.store.tables import ConnectorCursor, Event, Message, Ticket
from qanat.worker import poll_connectors
from tests.faults.test_faults import start_worker
from tests.support.dovecot import Dovecot
from tests.support.fake_telegram import FakeBotApi
from tests.support.fake_x import OUR_ID, FakeXApi, client_for
from tests.support.loopback import serve

ROOT = Path(__file__).parents[2]
FIXTURES = ROOT / "tests" / "fixtures"
SECRET = "fault-test-secret"
TOKEN = "7012345678:AAFakeTokenForTestsOnly_abcdefghijk"
#: Secrets reach qanat's processes through the environment, as in production.
SECRETS = {"FAULT_TOKEN": TOKEN, "FAULT_SECRET": SECRET}


@pytest.fixture
def pg_settings(empty_postgres_url: str, redis_url: str, tmp_path: Path) -> Settings:
    return load_settings(
        database_url=empty_postgres_url,
        redis_url=redis_url,
        attachments_dir=tmp_path / "files",
        notices=False,  # replays are counted in citizens' messages; notices have their tests
    )


def qanat_env(settings: Settings, connectors: Path, **extra: str) -> dict[str, str]:
    """The environment of a ``qanat`` process on the test's store and queue; a variable
    given as "" is left unset (``QANAT_REDIS_URL=""``: jobs inline)."""
    env = os.environ | {
        "QANAT_DATABASE_URL": settings.database_url,
        "QANAT_REDIS_URL": settings.redis_url or "",
        "QANAT_ATTACHMENTS_DIR": str(settings.attachments_dir),
        "QANAT_NOTICES": "1" if settings.notices else "0",
        "QANAT_CONNECTORS_FILE": str(connectors),
        "PYTHONPATH": str(ROOT),
        **extra,
    }
    return {name: value for name, value in env.items() if value}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def start_serve(env: dict[str, str], port: int, log: Path) -> subprocess.Popen[bytes]:
    """``qanat serve`` as its own process; returns once it answers ``/healthz``."""
    with log.open("ab") as handle:
        process = subprocess.Popen(
            [sys.executable, "-m", "qanat", "serve", "--port", str(port)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=handle,
        )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert process.poll() is None, log.read_text()
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return process
        except httpx.HTTPError:
            time.sleep(0.1)
    raise AssertionError(f"qanat serve did not come up: {log.read_text()}")


def qanat(env: dict[str, str], *arguments: str) -> subprocess.CompletedProcess[str]:
    """Run one ``qanat`` command to completion."""
    return subprocess.run(
        [sys.executable, "-m", "qanat", *arguments],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


async def counts(runtime: Runtime) -> dict[str, int]:
    """Messages in, processed, tickets, and how often a message was added to a ticket."""
    async with runtime.db.session() as session:

        async def one(statement: Any) -> int:
            return int((await session.execute(statement)).scalar_one())

        return {
            "messages": await one(select(func.count()).select_from(Message)),
            "processed": await one(
                select(func.count()).where(Message.state == "processed")  # type: ignore[arg-type]
            ),
            "tickets": await one(select(func.count()).select_from(Ticket)),
            "added": await one(
                select(func.count()).where(Event.type == "message_added")  # type: ignore[arg-type]
            ),
        }


async def settle(runtime: Runtime, messages: int, seconds: float = 120) -> dict[str, int]:
    """Wait until ``messages`` are stored and processed (bounded)."""
    deadline = time.monotonic() + seconds
    while True:
        now = await counts(runtime)
        if now["messages"] == now["processed"] == messages:
            return now
        assert time.monotonic() < deadline, f"not processed in time: {now}"
        await asyncio.sleep(0.1)


def read(log: Path) -> str:
    """A process's log, for failure messages."""
    return log.read_text(errors="replace")


def telegram_update(n: int) -> bytes:
    """A citizen's text to the bot, as Telegram posts it (``update_id`` 830200000 + n)."""
    update: dict[str, Any] = json.loads((FIXTURES / "telegram" / "text_arabic.json").read_text())
    update["update_id"] = 830_200_000 + n
    update["message"]["message_id"] = 500 + n
    update["message"]["from"]["id"] = update["message"]["chat"]["id"] = 5_200_000_000 + n
    update["message"]["text"] = f"حفرة في طريق {100 + n} مجمع {300 + n}"
    return json.dumps(update, ensure_ascii=False).encode()


def sms_post(n: int) -> bytes:
    text = f"طفح مجاري في مجمع {600 + n} طريق {n}"
    return json.dumps({"id": f"SMR{n}", "from": f"+9733900{n:04d}", "content": text}).encode()


def deliver_all(port: int, count: int) -> None:
    """Post ``count`` Telegram updates and ``count`` SMS; every one must be acknowledged."""
    base = f"http://127.0.0.1:{port}/webhooks"
    telegram = {"content-type": "application/json", "x-telegram-bot-api-secret-token": SECRET}
    sms = {"content-type": "application/json", "x-qanat-signature": SECRET}
    with httpx.Client(timeout=30) as client:
        for n in range(count):
            answer = client.post(
                f"{base}/telegram/bot", content=telegram_update(n), headers=telegram
            )
            assert answer.status_code == 200, answer.text
            answer = client.post(f"{base}/sms/gateway", content=sms_post(n), headers=sms)
            assert answer.status_code == 200, answer.text


async def test_webhook_deliveries_replayed_after_a_restart_create_nothing_new(
    pg_settings: Settings, tmp_path: Path
) -> None:
    connectors = tmp_path / "connectors.yaml"
    connectors.write_text(
        "telegram:\n  - {account: bot, token_env: FAULT_TOKEN, secret_token_env: FAULT_SECRET}\n"
        "sms:\n  - {account: gateway, provider: generic, secret_env: FAULT_SECRET}\n"
    )
    env = qanat_env(pg_settings, connectors, **SECRETS)
    port, log = free_port(), tmp_path / "qanat.log"
    runtime = await start_runtime(pg_settings)
    worker = start_worker(pg_settings, log)
    try:
        server = start_serve(env, port, log)
        await asyncio.to_thread(deliver_all, port, 10)
        server.send_signal(signal.SIGKILL)  # a crash: Telegram and the gateway never heard
        server.wait()
        first = await settle(runtime, 20)
        server = start_serve(env, port, log)
        await asyncio.to_thread(deliver_all, port, 10)  # ... so they deliver everything again
        server.terminate()
        server.wait()
        await asyncio.sleep(1)  # anything queued by the replay would be processed by now
        again = await settle(runtime, 20)
    finally:
        worker.terminate()
        worker.wait()
        await stop_runtime(runtime)
    assert first == again == {"messages": 20, "processed": 20, "tickets": 20, "added": 20}


async def test_telegram_updates_polled_again_after_a_lost_offset_create_nothing_new(
    pg_settings: Settings, tmp_path: Path
) -> None:
    fake = FakeBotApi(token=TOKEN)
    fake.updates += [json.loads(telegram_update(n)) for n in range(6)]
    with serve(fake.app()) as url:
        connectors = tmp_path / "connectors.yaml"
        connectors.write_text(
            "telegram:\n  - {account: bot, token_env: FAULT_TOKEN, mode: polling, "
            f"base_url: '{url}/bot', base_file_url: '{url}/file/bot'}}\n"
        )
        env = qanat_env(pg_settings, connectors, QANAT_REDIS_URL="", **SECRETS)  # inline
        runtime = await start_runtime(pg_settings)
        try:
            polled = qanat(env, "social", "poll", "telegram", "bot")
            assert polled.returncode == 0, polled.stderr
            first = await counts(runtime)
            # The process died before Telegram was told the new offset (and before ours was
            # kept): after the restart Telegram hands out the same six updates again.
            async with runtime.db.writing() as session:
                await session.execute(delete(ConnectorCursor))
            again = qanat(env, "social", "poll", "telegram", "bot")
            assert again.returncode == 0, again.stderr
            second = await counts(runtime)
            confirm = qanat(env, "social", "poll", "telegram", "bot")
            assert confirm.returncode == 0, confirm.stderr
        finally:
            await stop_runtime(runtime)
    assert json.loads(polled.stdout)["saved"] == 6 and json.loads(again.stdout)["saved"] == 0
    assert first == second == {"messages": 6, "processed": 6, "tickets": 6, "added": 6}
    offsets = [int(call.get("offset") or 0) for call in fake.calls_to("getupdates")]
    assert offsets[-1] == 830_200_006 and fake.updates == []  # confirmed at last


def citizen_mail(n: int) -> bytes:
    # Sent an hour ago: inside the night's window whatever day the test runs.
    sent = format_datetime(datetime.now(UTC) - timedelta(hours=1))
    return (
        f"From: citizen{n}@mail.example\r\nTo: complaints@works.example\r\n"
        f"Subject: =?utf-8?b?2LTZg9mI2Yk=?= {n}\r\nMessage-ID: <gap-{n}@mail.example>\r\n"
        f"Date: {sent}\r\nContent-Type: text/plain; charset=utf-8\r\n"
        f"\r\nStreet light out on Road {n}, Block 3{n:02d}\r\n"
    ).encode()


@pytest.mark.dovecot
async def test_mail_that_arrived_while_qanat_was_stopped_is_found_by_the_nightly_job(
    pg_settings: Settings, tmp_path: Path, dovecot: Dovecot
) -> None:
    admin = IMAPClient(dovecot.host, port=dovecot.port, ssl=False, timeout=10)
    admin.login(dovecot.username, dovecot.password)
    admin.create_folder("GapTest")
    connectors = tmp_path / "connectors.yaml"
    imap = {
        "host": dovecot.host,
        "port": dovecot.port,
        "ssl": False,
        "username": dovecot.username,
        "password_env": "FAULT_IMAP_PASSWORD",
        "folder": "GapTest",
    }
    connectors.write_text(json.dumps({"email": [{"account": "complaints", "imap": imap}]}))
    env = qanat_env(
        pg_settings, connectors, QANAT_REDIS_URL="", FAULT_IMAP_PASSWORD=dovecot.password
    )
    since = (datetime.now(UTC) - timedelta(days=1)).isoformat()
    runtime = await start_runtime(pg_settings)
    try:
        admin.append("GapTest", citizen_mail(1))
        night = [qanat(env, "reconcile", "--since", since, "--json")]
        for n in (2, 3, 4):  # qanat is stopped: nothing polls while these arrive
            admin.append("GapTest", citizen_mail(n))
        night += [qanat(env, "reconcile", "--since", since, "--json")]
        night += [qanat(env, "reconcile", "--since", since, "--json")]
        stored = await counts(runtime)
    finally:
        await stop_runtime(runtime)
        admin.logout()
    lines = []
    for done in night:
        assert done.returncode == 0, done.stderr
        [line] = [row for row in json.loads(done.stdout)["ledger"] if row["channel"] == "email"]
        lines.append(
            (line["status"], line["source_count"], line["backfilled"], line["stored_count"])
        )
    assert lines == [("ok", 1, 1, 1), ("ok", 4, 3, 4), ("ok", 4, 0, 4)]
    assert stored == {"messages": 4, "processed": 4, "tickets": 4, "added": 4}


async def test_mentions_posted_during_an_outage_are_found_by_the_nightly_job(
    empty_postgres_url: str, tmp_path: Path
) -> None:
    fake = FakeXApi()
    settings = load_settings(
        database_url=empty_postgres_url,
        redis_url=None,
        attachments_dir=tmp_path / "files",
        notices=False,
    )
    keys = {k: k for k in ("consumer_key", "consumer_secret", "access_token")}
    account = {"account": "moworks", "user_id": OUR_ID, "access_token_secret": "s", **keys}
    with serve(fake.app()) as url:
        runtime = await start_runtime(settings)
        try:
            await runtime.connectors.http.aclose()
            runtime.connectors.http = client_for(url)  # X's hosts reach the fake
            runtime.connectors.specs["x"] = X_SPEC
            runtime.accounts["x"] = [account | {"direct_messages": False}]
            fake.load("mentions_page1.json")
            await poll_connectors(runtime.as_job_context())
            before = await counts(runtime)
            fake.load("mentions_page2.json")  # posted while qanat was down
            report = await reconcile(
                runtime, since=datetime(2026, 11, 1, tzinfo=UTC), sources=sources_for(runtime)
            )
            after = await counts(runtime)
            saved = await poll_connectors(runtime.as_job_context())  # back up: nothing new
        finally:
            await stop_runtime(runtime)
    line = report.ledger("x", "moworks")
    assert before["messages"] == 2 and after["messages"] == after["processed"] == 3
    assert (line.source_count, line.backfilled, line.status) == (3, 1, "ok")
    assert saved == 0 and after["added"] == 3


async def test_a_poison_message_is_dead_lettered_without_holding_up_the_next(
    pg_settings: Settings, tmp_path: Path
) -> None:
    env = qanat_env(pg_settings, tmp_path / "none.yaml", QANAT_MAX_ATTEMPTS="2")
    env.pop("QANAT_CONNECTORS_FILE")  # no connector accounts: the worker only processes
    runtime = await start_runtime(pg_settings)
    log = tmp_path / "worker.log"
    worker = start_poison_worker(env, log)
    try:
        poison = await runtime.intake.save(citizen("P1", "poison: this one breaks the pipeline"))
        fine = [await runtime.intake.save(citizen(f"F{n}", f"حفرة في طريق {n}")) for n in range(5)]
        dead = await wait_for_state(runtime, poison.message_id, "dead_letter", log)
        good = [await wait_for_state(runtime, f.message_id, "processed", log) for f in fine]
        async with runtime.db.session() as session:
            dead_at = (
                await session.execute(
                    select(Event.at).where(
                        Event.type == "dead_lettered",  # type: ignore[arg-type]
                        Event.message_id == poison.message_id,  # type: ignore[arg-type]
                    )
                )
            ).scalar_one()
    finally:
        worker.terminate()
        worker.wait()
        await stop_runtime(runtime)
    assert dead.attempts == 2 and dead.state_reason == "RuntimeError: poisoned on purpose"
    # The retry waits its back-off while the messages behind it are processed.
    assert all(g.processed_at is not None and g.processed_at < dead_at for g in good)


def start_poison_worker(env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    """A real worker whose pipeline breaks on "poison" (tests/support/poison_worker.py)."""
    with log.open("ab") as handle:
        return subprocess.Popen(
            [sys.executable, "-m", "tests.support.poison_worker"],
            env=env,
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=handle,
        )


def citizen(external_id: str, text: str) -> Inbound:
    return Inbound(
        channel="sms",
        external_id=external_id,
        received_at=datetime.now(UTC),
        sender=Sender(handle="+97333445566", phone="+97333445566"),
        text=text,
    )


async def wait_for_state(runtime: Runtime, message_id: int, state: str, log: Path) -> Message:
    deadline = time.monotonic() + 90
    while True:
        async with runtime.db.session() as session:
            message = await session.get(Message, message_id)
        assert message is not None
        if message.state == state:
            return message
        assert time.monotonic() < deadline, f"message {message_id} is {message.state}: {read(log)}"
        await asyncio.sleep(0.1)
