"""``qanat backup``, ``qanat restore`` and ``qanat db copy``: every table, row for row."""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest
from rich.console import Console
from sqlalchemy import select
from typer.testing import CliRunner

from qanat.cli.main import app
from qanat.config import load_settings
from qanat.demo.run import run_demo
from qanat.model import Attachment, Inbound, Sender
from qanat.runtime import Runtime, start_runtime, stop_runtime
from qanat.store.migrate import upgrade
from qanat.store.tables import Ticket, User, utcnow
from qanat.web.app import create_app
from tests.support.rows import every_row
from tests.web.conftest import bearer_client

IMPORTS = Path(__file__).parents[1] / "fixtures" / "import"


def cli(*args: str, **env: str | None) -> tuple[int, str]:
    result = CliRunner().invoke(app, list(args), env={"QANAT_REDIS_URL": None, **env})
    return result.exit_code, result.stderr


async def acli(*args: str, **env: str | None) -> tuple[int, str]:
    """:func:`cli` from a test that runs in an event loop (a command starts its own)."""
    return await asyncio.to_thread(cli, *args, **env)


@pytest.fixture
async def pilot(tmp_path: Path) -> AsyncIterator[Runtime]:
    """A SQLite pilot: its own database and attachments folder, jobs inline."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'pilot.db'}"
    await asyncio.to_thread(upgrade, url)
    settings = load_settings(database_url=url, attachments_dir=tmp_path / "pilot-files")
    runtime = await start_runtime(settings)
    try:
        yield runtime
    finally:
        await stop_runtime(runtime)


def photo_message() -> Inbound:
    png = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4
    return Inbound(
        channel="telegram",
        external_id="8123390045:9001",
        received_at=utcnow() - timedelta(hours=2),
        sender=Sender(handle="8123390045", name="بو محمد"),
        text="صورة الحفرة في طريق 45 مجمع 305",
        attachments=[
            Attachment(name="pothole.png", content_type="image/png", size=len(png), content=png)
        ],
    )


async def staff_work_through_the_api(runtime: Runtime) -> None:
    """Replies, a note, an assignment, a link and an unlink, a priority change."""
    async with runtime.db.session() as session:
        admin = (await session.execute(select(User).where(User.username == "admin"))).scalar_one()
        tickets = list((await session.execute(select(Ticket).order_by(Ticket.id))).scalars())
    assert admin.id is not None
    open_sewage = [t for t in tickets if t.status == "new" and t.primary_ticket_id is None]
    duplicate = next(t for t in tickets if t.primary_ticket_id is not None)
    first, second, third = (t.reference for t in open_sewage[:3])
    client, _ = await bearer_client(
        create_app(runtime=runtime), runtime, user_id=admin.id, scopes=["read", "write"]
    )
    async with client:
        for call in (
            client.post(f"/api/tickets/{first}/replies", json={"text": "وصلنا بلاغكم {reference}"}),
            client.post(f"/api/tickets/{first}/notes", json={"text": "Crew booked for Sunday."}),
            client.post(f"/api/tickets/{second}/assign", json={"username": "admin"}),
            client.put(f"/api/tickets/{third}/primary", json={"primary_reference": first}),
            client.delete(f"/api/tickets/{duplicate.reference}/primary"),
            client.patch(f"/api/tickets/{second}", json={"priority": "urgent"}),
        ):
            answer = await call
            assert answer.status_code < 300, answer.text


def files_in(folder: Path) -> dict[str, str]:
    return {
        str(path.relative_to(folder)): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in folder.rglob("*")
        if path.is_file()
    }


async def test_backup_then_restore_into_postgres_keeps_every_row(
    pilot: Runtime, empty_postgres_url: str, tmp_path: Path
) -> None:
    await run_demo(pilot, console=Console(record=True, width=120))
    await pilot.intake.save(photo_message())
    await staff_work_through_the_api(pilot)
    pilot_url, pilot_files = pilot.settings.database_url, pilot.settings.attachments_dir
    backup = tmp_path / "qanat-backup.zip"

    code, err = await acli(
        "backup", str(backup), QANAT_DATABASE_URL=pilot_url, QANAT_ATTACHMENTS_DIR=str(pilot_files)
    )
    assert code == 0, err
    restored_files = tmp_path / "restored-files"
    target = {
        "QANAT_DATABASE_URL": empty_postgres_url,
        "QANAT_ATTACHMENTS_DIR": str(restored_files),
        "QANAT_HOME": str(tmp_path / "restored-home"),
    }
    code, err = await acli("restore", str(backup), **target)
    assert code == 0, err

    before, after = await every_row(pilot_url), await every_row(empty_postgres_url)
    assert set(before) == set(after)
    for table, rows in before.items():
        assert after[table] == rows, table
    for table in ("message", "event", "note", "staff_user", "api_token", "attachment", "audit_log"):
        assert before[table], f"{table} should have rows to compare"
    assert any(m["direction"] == "out" for m in after["message"])  # replies came back
    assert files_in(restored_files) == files_in(pilot_files) != {}

    # The restored store goes on: new ids follow the restored ones.
    settings = load_settings(database_url=empty_postgres_url, attachments_dir=restored_files)
    restored = await start_runtime(settings)
    try:
        saved = await restored.intake.save(
            photo_message().model_copy(update={"external_id": "8123390045:9002"})
        )
    finally:
        await stop_runtime(restored)
    assert saved.created and saved.message_id > max(m["id"] for m in before["message"])

    code, err = await acli("restore", str(backup), **target)
    assert code == 1 and "already holds data" in err and len(err.strip().splitlines()) == 1


async def test_db_copy_moves_a_sqlite_pilot_to_postgres_row_for_row(
    pilot: Runtime, empty_postgres_url: str
) -> None:
    url = pilot.settings.database_url
    env = {"QANAT_DATABASE_URL": url, "QANAT_ATTACHMENTS_DIR": str(pilot.settings.attachments_dir)}
    assert (await acli("import", str(IMPORTS / "sewage_block_305.jsonl"), **env))[0] == 0
    added = await acli(
        "user", "add", "mariam", "--role", "admin", "--password", "long-enough-1", **env
    )
    assert added[0] == 0
    assert (await acli("open311", "key", "add", "fixmystreet", **env))[0] == 0
    await pilot.intake.save(photo_message())

    code, err = await acli("db", "copy", "--to", empty_postgres_url, **env)
    assert code == 0, err
    assert "Attachments stay in" in err
    before, after = await every_row(url), await every_row(empty_postgres_url)
    assert before == after and before["ticket"] and before["open311_key"]

    code, err = await acli("db", "copy", "--to", empty_postgres_url, **env)
    assert code == 1 and "already holds data" in err


def test_restore_refuses_a_file_that_is_not_a_backup(tmp_path: Path) -> None:
    fake = tmp_path / "notes.zip"
    fake.write_bytes(b"PK\x05\x06" + b"\0" * 18)  # an empty zip
    code, err = cli("--home", str(tmp_path), "restore", str(fake), QANAT_DATABASE_URL=None)
    assert code == 1 and f"{fake} is not a qanat backup" in err
