"""``qanat import``, ``qanat export`` and ``qanat import-calls``: JSON Lines in and out,
and the telephone system's call records."""

from __future__ import annotations

import json
import sys
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.progress import Progress

from qanat.cli.common import console, run, store_or_exit, with_runtime

export_app = typer.Typer(help="Write tickets or messages as JSON Lines.", no_args_is_help=True)


def import_command(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, readable=True)],
) -> None:
    """Import JSON Lines of inbound messages (idempotent); bad lines are reported, not fatal."""
    from qanat.ingest.interchange import count_lines, import_file
    from qanat.ingest.registry import known_channels

    settings = store_or_exit()

    async def body(runtime: Any) -> Any:
        from qanat.runtime import importing

        channels = known_channels(runtime.connectors.specs)
        with Progress(console=console, transient=True) as progress:
            task = progress.add_task(f"Importing {file.name}", total=count_lines(file))
            async with importing(runtime):
                return await import_file(
                    runtime.intake, file, advance=lambda: progress.advance(task), channels=channels
                )

    report = run(lambda: with_runtime(settings, body))
    for bad in report.bad_lines:
        console.print(f"[red]{file}:{bad.line}:[/red] {bad.reason}")
    console.print(
        f"{report.saved} new messages, {report.already_known} already imported, "
        f"{len(report.bad_lines)} bad lines."
    )
    if report.bad_lines:
        raise typer.Exit(1)


def _export(what: Callable[[Any], AsyncIterator[dict[str, Any]]], output: Path | None) -> None:
    settings = store_or_exit(create=False)

    async def body() -> int:
        from qanat.store.db import Database

        database = Database.from_url(settings.database_url)
        count = 0
        handle = output.open("w", encoding="utf-8") if output else sys.stdout
        try:
            async with database.session() as session:
                async for row in what(session):
                    handle.write(json.dumps(row, ensure_ascii=False) + "\n")
                    count += 1
        finally:
            if output:
                handle.close()
            await database.dispose()
        return count

    count = run(body)
    console.print(f"Exported {count} rows.")


@export_app.command("tickets")
def export_tickets(
    output: Annotated[Path | None, typer.Option("--output", "-o")] = None,
) -> None:
    """Every ticket: reference, kind, status, department, primary_reference, messages…"""
    from qanat.store.views import export_tickets as rows

    _export(rows, output)


@export_app.command("messages")
def export_messages(
    output: Annotated[Path | None, typer.Option("--output", "-o")] = None,
) -> None:
    """Every inbound message in the import format (re-importable into an empty store)."""
    from qanat.store.views import export_messages as rows

    _export(rows, output)


def import_calls(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="Asterisk Master.csv")],
) -> None:
    """Import call records: calls join their caller's contact; missed calls await a call back."""
    from qanat.ingest.call_centre import import_cdr
    from qanat.store.db import Database

    settings = store_or_exit()

    async def body() -> Any:
        database = Database.from_url(settings.database_url)
        try:
            return await import_cdr(database, file, tz=settings.tz, region=settings.default_region)
        finally:
            await database.dispose()

    report = run(body)
    for line, reason in report.bad_rows:
        console.print(f"[red]{file}:{line}:[/red] {reason}")
    console.print(
        f"{report.imported} calls imported ({report.missed} missed, to call back), "
        f"{report.already_known} already imported, {len(report.bad_rows)} bad rows."
    )
    if report.bad_rows:
        raise typer.Exit(1)
