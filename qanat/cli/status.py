"""``qanat status``: which data folder, database, files and queue this qanat uses, and
whether the database is there and up to date. It changes nothing."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from qanat.cli.common import run, settings_or_exit
from qanat.config import Settings


def _files(folder: Path) -> str:
    if not folder.is_dir():
        return f"{folder.resolve()} (not made yet)"
    count = sum(1 for path in folder.rglob("*") if path.is_file())
    return f"{folder.resolve()} ({count} files)"


def _optional_file(path: Path | None, absent: str) -> str:
    if path is None:
        return absent
    return f"{path.resolve()}" + ("" if path.is_file() else " (not there yet)")


async def _counts(database_url: str) -> dict[str, int]:
    from qanat.store import queries
    from qanat.store.db import Database
    from qanat.store.tables import Message, Ticket, User

    database = Database.from_url(database_url)
    try:
        async with database.session() as session:
            return {
                "tickets": await queries.count_rows(session, Ticket),
                "messages": await queries.count_rows(session, Message),
                "staff": await queries.count_rows(session, User),
            }
    finally:
        await database.dispose()


def _database(settings: Settings) -> tuple[dict[str, Any], bool]:
    """What the database says of itself, and whether it is fine to use."""
    from qanat.errors import StoreUnavailable
    from qanat.store.readiness import redacted, revisions, sqlite_path

    found: dict[str, Any] = {"database": redacted(settings.database_url)}
    path = sqlite_path(settings.database_url)
    if path is not None and not path.exists():
        found["state"] = "not created yet (`qanat demo` or `qanat db upgrade` makes it)"
        return found, True
    try:
        where = revisions(settings.database_url)
    except StoreUnavailable as exc:
        found["state"] = str(exc)
        return found, False
    if where.up_to_date:
        found["state"] = f"revision {where.current} (up to date)"
        found.update(run(lambda: _counts(settings.database_url)))
    else:
        found["state"] = (
            f"revision {where.current or 'none'}, newest {where.head}: "
            "`qanat db upgrade` (or any command that uses it) migrates it"
        )
    return found, True


def describe(settings: Settings) -> tuple[dict[str, Any], bool]:
    """Everything ``qanat status`` prints, and whether the database is usable."""
    from qanat.store.readiness import redacted

    found: dict[str, Any] = {"data folder": str(settings.home.resolve())}
    database, usable = _database(settings)
    found.update(database)
    found["attachments"] = _files(settings.attachments_dir)
    found["rules"] = _optional_file(settings.rules_file, "the shipped sample rules")
    found["router model"] = _optional_file(settings.router_model_file, "none")
    found["pair model"] = _optional_file(
        settings.dedupe_model_file, "none (the place × problem table)"
    )
    found["connectors"] = _optional_file(settings.connectors_file, "none (no channel accounts)")
    found["queue"] = (
        redacted(settings.redis_url) if settings.redis_url else "inline (QANAT_REDIS_URL unset)"
    )
    found["environment"] = settings.environment
    return found, usable


def status(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON")] = False,
) -> None:
    """Which data folder, database, files, rules and queue are used, and their state."""
    settings = settings_or_exit()
    found, usable = describe(settings)
    if as_json:
        print(json.dumps(found, ensure_ascii=False))
    else:
        width = max(len(key) for key in found)
        for key, value in found.items():
            print(f"{key:<{width}}  {value}")
    if not usable:
        raise typer.Exit(1)
