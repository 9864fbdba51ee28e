"""``qanat db upgrade | copy``, ``qanat backup`` and ``qanat restore``: migrations, and
moving the whole store — every table, every row, ids and raw bytes kept — to a file or
to another database."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from qanat.cli.common import console, run, settings_or_exit, store_or_exit
from qanat.config import HOME_MODEL, HOME_PAIR_MODEL, HOME_RULES, Settings

app = typer.Typer(
    help="The database: migrations, and a copy into another database.", no_args_is_help=True
)


@app.command("upgrade")
def db_upgrade(revision: str = "head") -> None:
    """Apply the migrations to the database (the data folder's, or QANAT_DATABASE_URL)."""
    from qanat.store.migrate import upgrade
    from qanat.store.readiness import check_store

    settings = settings_or_exit()
    check_store(settings.database_url)
    upgrade(settings.database_url, revision)
    console.print(f"Database is at revision {revision}.")


def _rows_line(rows: dict[str, int]) -> str:
    shown = ("ticket", "message", "event", "note", "staff_user", "attachment")
    parts = [f"{rows.get(name, 0)} {name}" for name in shown]
    return f"{sum(rows.values())} rows in {len(rows)} tables ({', '.join(parts)}, …)"


def _config_files(settings: Settings) -> dict[str, Path]:
    """The rules file and the learned models that travel with a backup."""
    files = {}
    if settings.rules_file is not None:
        files[HOME_RULES] = settings.rules_file
    if settings.router_model_file is not None:
        files[HOME_MODEL] = settings.router_model_file
    if settings.dedupe_model_file is not None:
        files[HOME_PAIR_MODEL] = settings.dedupe_model_file
    return files


def backup(
    file: Annotated[Path, typer.Argument(dir_okay=False, help="The backup file to write (zip)")],
) -> None:
    """Write the whole store to FILE: every table (raw bytes, events, notes, replies,
    users, tokens, …), the attachments, the rules file and the learned models."""
    from qanat.store.backup import Manifest, write_backup
    from qanat.store.db import make_engine
    from qanat.store.readiness import head_revision

    settings = store_or_exit(create=False)
    engine = make_engine(settings.database_url)

    async def body() -> Manifest:
        try:
            return await write_backup(
                engine,
                file,
                revision=head_revision(),
                attachments_dir=settings.attachments_dir,
                config_files=_config_files(settings),
            )
        finally:
            await engine.dispose()

    manifest = run(body)
    console.print(
        f"Backed up {_rows_line(manifest.rows())}, {manifest.files} files "
        f"to {file} ({file.stat().st_size // 1024} KiB)."
    )


def _prepare_target(database_url: str, revision: str) -> None:
    """Bring an empty target to the backup's revision (refusing one at another)."""
    from qanat.errors import StoreUnavailable
    from qanat.store.migrate import upgrade
    from qanat.store.readiness import check_store, known_revision, revisions

    if not known_revision(revision):
        raise StoreUnavailable(
            f"the backup is at revision {revision}, which this qanat does not know: "
            "restore it with the qanat that made it"
        )
    check_store(database_url)
    current = revisions(database_url).current
    if current not in (None, revision):
        raise StoreUnavailable(
            f"the target database is at revision {current} and the backup at {revision}: "
            "restore into a new, empty database"
        )
    upgrade(database_url, revision)


def restore(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="A qanat backup")],
) -> None:
    """Restore FILE into the (empty) database and data folder, then migrate it."""
    from qanat.store.backup import read_manifest, restore_config, restore_files, restore_rows
    from qanat.store.db import make_engine
    from qanat.store.migrate import upgrade

    settings = settings_or_exit()
    manifest = read_manifest(file)
    _prepare_target(settings.database_url, manifest.revision)
    engine = make_engine(settings.database_url)

    async def body() -> dict[str, int]:
        try:
            return await restore_rows(engine, file, manifest)
        finally:
            await engine.dispose()

    rows = run(body)
    upgrade(settings.database_url)
    files = restore_files(file, settings.attachments_dir)
    config = restore_config(
        file,
        {
            HOME_RULES: settings.rules_file or settings.home / HOME_RULES,
            HOME_MODEL: settings.router_model_file or settings.home / HOME_MODEL,
            HOME_PAIR_MODEL: settings.dedupe_model_file or settings.home / HOME_PAIR_MODEL,
        },
    )
    console.print(f"Restored {_rows_line(rows)} and {files} files from {file}.")
    for name, outcome in config.items():
        kept = " (the file already there was kept)" if outcome == "kept" else ""
        console.print(f"{name}: {outcome}{kept}")


@app.command("copy")
def db_copy(
    to: Annotated[str, typer.Option("--to", help="The empty target, e.g. postgresql://…")],
) -> None:
    """Copy every row of the store into another (empty) database, e.g. a SQLite pilot into
    PostgreSQL. Stop qanat serve and workers first; attachments stay where they are."""
    from qanat.store.copying import copy_between
    from qanat.store.db import make_engine
    from qanat.store.readiness import prepare_store, redacted

    settings = store_or_exit(create=False)
    prepare_store(to)
    source, target = make_engine(settings.database_url), make_engine(to)

    async def body() -> dict[str, int]:
        try:
            return await copy_between(source, target)
        finally:
            await source.dispose()
            await target.dispose()

    rows = run(body)
    console.print(f"Copied {_rows_line(rows)} to {redacted(to)}.", markup=False)
    console.print(
        f"Attachments stay in {settings.attachments_dir.resolve()}. From now on run qanat "
        f"with QANAT_DATABASE_URL={redacted(to)} (and the same QANAT_HOME or "
        "QANAT_ATTACHMENTS_DIR).",
        markup=False,
    )
