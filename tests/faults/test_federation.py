"""Federation against a real peer: a second qanat — its own ``qanat serve`` process, its own
database, its own Open311 server and keys — acts as the national complaints system.

Requests filed nationally appear in the ministry's qanat (PostgreSQL), routed; the
ministry's status changes flow back and show in the national system's Open311 answer; an
outage of the national system is retried and then reconciled by the nightly job — the
missed request backfilled, the undelivered update delivered — with nothing twice.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select
from sqlmodel import col

from qanat.config import Settings, load_settings
from qanat.jobs.listers import sources_for
from qanat.jobs.reconcile import reconcile
from qanat.runtime import Runtime, start_runtime, stop_runtime
from qanat.store import staff
from qanat.store.tables import Event, Message, Ticket, User, utcnow
from qanat.web import work
from tests.faults.test_replays_and_gaps import free_port, qanat, start_serve

ROOT = Path(__file__).parents[2]


class National:
    """The national system: a ``qanat serve`` process on its own SQLite database."""

    def __init__(self, folder: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/open311/v2"
        self.log = folder / "national.log"
        self.env = {
            "QANAT_DATABASE_URL": f"sqlite:///{folder / 'national.db'}",
            "QANAT_ATTACHMENTS_DIR": str(folder / "national-files"),
            "QANAT_PUBLIC_WAIT_SECONDS": "5",
            "PYTHONPATH": str(ROOT),
            "PATH": "/usr/bin:/bin",
        }
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.process = start_serve(self.env, self.port, self.log)

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=30)
            self.process = None

    def key(self, name: str, *flags: str) -> str:
        made = qanat(self.env, "open311", "key", "add", name, *flags)
        assert made.returncode == 0, made.stderr
        return made.stdout.strip()

    def file(self, key: str, code: str, text: str, block: str) -> str:
        """A citizen's request filed on the national portal; its national reference."""
        form = {
            "api_key": key,
            "service_code": code,
            "description": text,
            "address_string": f"Block {block}",
            "phone": "+97333112233",
        }
        answer = httpx.post(f"{self.url}/requests.json", data=form, timeout=30)
        assert answer.status_code == 201, answer.text
        return str(answer.json()[0]["service_request_id"])

    def request(self, reference: str) -> dict[str, Any]:
        [found] = httpx.get(f"{self.url}/requests/{reference}.json", timeout=10).json()
        assert isinstance(found, dict)
        return found

    def updates(self) -> list[dict[str, Any]]:
        listed = httpx.get(f"{self.url}/servicerequestupdates.json", timeout=10).json()
        assert isinstance(listed, list)
        return listed


@pytest.fixture
def national(tmp_path: Path) -> Iterator[National]:
    system = National(tmp_path)
    system.start()
    try:
        yield system
    finally:
        system.stop()


def ministry_settings(database_url: str, folder: Path, national: National) -> Settings:
    connectors = folder / "connectors.yaml"
    connectors.write_text(
        "open311:\n"
        "  - account: national\n"
        f"    endpoint: {national.url}\n"
        "    api_key_env: QANAT_TEST_NATIONAL_KEY\n"
        "    page_size: 2\n",
        encoding="utf-8",
    )
    return load_settings(
        database_url=database_url,
        redis_url=None,
        attachments_dir=folder / "files",
        connectors_file=connectors,
        send_attempts=2,
    )


async def staff_request(runtime: Runtime) -> work.Request:
    async with runtime.db.writing() as session:
        user = User(username="sewage_sup", display_name="مشرفة", password_hash="-", role="admin")
        session.add(user)
    async with runtime.db.session() as session:
        person = await staff.user_named(session, username="sewage_sup")
    assert person is not None
    return work.Request(viewer=staff.viewer_of(person))


async def local_reference(runtime: Runtime, national_reference: str) -> str:
    async with runtime.db.session() as session:
        row = await session.execute(
            select(Ticket.reference)
            .join(Message, col(Message.ticket_id) == col(Ticket.id))
            .where(
                col(Message.channel) == "open311", col(Message.external_id) == national_reference
            )
        )
        return str(row.scalar_one())


async def count(runtime: Runtime, table: Any, *where: Any) -> int:
    async with runtime.db.session() as session:
        return int(
            (
                await session.execute(select(func.count()).select_from(table).where(*where))
            ).scalar_one()
        )


async def test_a_second_qanat_as_the_national_system(
    national: National, empty_postgres_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    portal = national.key("national_portal")
    monkeypatch.setenv("QANAT_TEST_NATIONAL_KEY", national.key("works_ministry", "--updates"))
    sewage = national.file(
        portal, "sewage_overflow", "طفح مجاري أمام مبنى 12 طريق 45 مجمع 305", "305"
    )
    pothole = national.file(portal, "pothole", "حفرة عميقة في طريق 2803 مجمع 928", "928")
    light = national.file(portal, "street_light_out", "إنارة الشارع مطفأة في مجمع 908", "908")

    runtime = await start_runtime(ministry_settings(empty_postgres_url, tmp_path, national))
    try:
        upstream = runtime.connectors.get("open311", "national")
        assert upstream is not None
        first = await upstream.poll_once()
        assert first is not None and first.saved == 3 and first.error is None, first
        mine = {ref: await local_reference(runtime, ref) for ref in (sewage, pothole, light)}
        async with runtime.db.session() as session:
            sewage_ticket = (
                await session.execute(select(Ticket).where(col(Ticket.reference) == mine[sewage]))
            ).scalar_one()
            text = (
                await session.execute(
                    select(Message.text).where(col(Message.external_id) == sewage)
                )
            ).scalar_one()
        assert sewage_ticket.category == "sewage_overflow" and sewage_ticket.channel == "open311"
        assert "+97333112233" not in text  # the national listing keeps the citizen's number

        # The ministry resolves: the national system shows it closed, with the ministry's note.
        who = await staff_request(runtime)
        await work.update(runtime, who, mine[sewage], status="resolved")
        shown = national.request(sewage)
        assert shown["status"] == "closed" and mine[sewage] in shown["status_notes"]
        again = await upstream.poll_once()  # the national change is read again: nothing new
        assert again is not None and again.saved == 0 and again.edited == 0
        assert await count(runtime, Event, col(Event.type) == "message_edited") == 0

        # The national system goes down: the ministry's change is tried, then fails visibly.
        national.stop()
        await work.update(runtime, who, mine[pothole], status="pending")
        assert await count(runtime, Event, col(Event.type) == "upstream_update_failed") == 1
        national.start()
        late = national.file(portal, "blocked_drain", "تجمع مياه عند مدرسة مجمع 305", "305")

        # The night: the missed request is brought in, the failed update delivered, once.
        report = await reconcile(
            runtime, since=utcnow() - timedelta(hours=25), sources=sources_for(runtime)
        )
        line = report.ledgers[("open311", "national")]
        assert (line.source_count, line.backfilled, line.reprocessed, line.status) == (
            4,
            1,
            1,
            "ok",
        ), line
        assert await local_reference(runtime, late)
        assert national.request(pothole)["status"] == "open"
        assert "بانتظار معلومات" in national.request(pothole)["status_notes"]
        second = await reconcile(
            runtime, since=utcnow() - timedelta(hours=25), sources=sources_for(runtime)
        )
        assert second.ledgers[("open311", "national")].backfilled == 0
        posted = national.updates()
        assert sorted(u["service_request_id"] for u in posted) == sorted([sewage, pothole])
        assert await count(runtime, Message, col(Message.channel) == "open311") == 4
    finally:
        await stop_runtime(runtime)
