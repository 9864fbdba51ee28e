"""The ``qanat`` command: serve, worker, demo, import, export, user, db.

Every command reads its settings from ``QANAT_*`` variables at start, so a script can
point any of them at a scratch database with ``QANAT_DATABASE_URL``.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
from collections.abc import AsyncIterator, Callable, Coroutine
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console
from rich.progress import Progress

from qanat.config import Settings, load_settings
from qanat.errors import ConfigError

app = typer.Typer(help="qanat — one inbox for every channel citizens use.", no_args_is_help=True)
db_app = typer.Typer(help="The database: migrations.", no_args_is_help=True)
export_app = typer.Typer(help="Write tickets or messages as JSON Lines.", no_args_is_help=True)
user_app = typer.Typer(help="Staff accounts.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(export_app, name="export")
app.add_typer(user_app, name="user")

# soft_wrap: error lines stay whole, so scripts can grep them.
console = Console(stderr=True, soft_wrap=True)
T = TypeVar("T")


def settings_or_exit(**overrides: Any) -> Settings:
    """Load the settings, or exit with the reason naming the variable at fault."""
    try:
        return load_settings(**overrides)
    except ConfigError as exc:
        console.print(f"[red]Configuration error:[/red] {exc}")
        raise typer.Exit(2) from exc


def run(coroutine_factory: Callable[[], Coroutine[Any, Any, T]]) -> T:
    """Run an async command body to completion."""
    return asyncio.run(coroutine_factory())


async def _with_runtime(settings: Settings, body: Callable[[Any], Coroutine[Any, Any, T]]) -> T:
    from qanat.runtime import start_runtime, stop_runtime

    runtime = await start_runtime(settings)
    try:
        return await body(runtime)
    finally:
        await stop_runtime(runtime)


@db_app.command("upgrade")
def db_upgrade(revision: str = "head") -> None:
    """Apply the migrations to the database in QANAT_DATABASE_URL."""
    from qanat.store.migrate import upgrade

    settings = settings_or_exit()
    upgrade(settings.database_url, revision)
    console.print(f"Database is at revision {revision}.")


@app.command("import")
def import_command(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, readable=True)],
) -> None:
    """Import JSON Lines of inbound messages (idempotent); bad lines are reported, not fatal."""
    from qanat.interchange import count_lines, import_file
    from qanat.store.migrate import upgrade

    settings = settings_or_exit()
    upgrade(settings.database_url)

    async def body(runtime: Any) -> Any:
        with Progress(console=console, transient=True) as progress:
            task = progress.add_task(f"Importing {file.name}", total=count_lines(file))
            return await import_file(runtime, file, advance=lambda: progress.advance(task))

    report = run(lambda: _with_runtime(settings, body))
    for bad in report.bad_lines:
        console.print(f"[red]{file}:{bad.line}:[/red] {bad.reason}")
    console.print(
        f"{report.saved} new messages, {report.already_known} already imported, "
        f"{len(report.bad_lines)} bad lines."
    )
    if report.bad_lines:
        raise typer.Exit(1)


def _export(what: Callable[[Any], AsyncIterator[dict[str, Any]]], output: Path | None) -> None:
    settings = settings_or_exit()

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


@user_app.command("add")
def user_add(
    username: str,
    role: Annotated[str, typer.Option(help="agent, supervisor, admin or representative")],
    name: Annotated[str | None, typer.Option(help="Display name")] = None,
    department: Annotated[str | None, typer.Option(help="Department code")] = None,
    block: Annotated[str | None, typer.Option(help="Block, for representatives")] = None,
    password: Annotated[
        str, typer.Option(prompt=True, hide_input=True, confirmation_prompt=True)
    ] = "",
) -> None:
    """Add a member of staff (or a block's community representative)."""
    from qanat.auth import ROLES
    from qanat.store.users import add_user

    if role not in ROLES:
        console.print(f"[red]Unknown role {role!r};[/red] choose one of {', '.join(ROLES)}.")
        raise typer.Exit(2)
    if len(password) < 10:
        console.print("[red]The password must have at least 10 characters.[/red]")
        raise typer.Exit(2)
    settings = settings_or_exit()

    async def body(runtime: Any) -> str:
        return await add_user(
            runtime.db,
            username=username,
            role=role,
            display_name=name or username,
            department=department,
            block=block,
            password=password,
        )

    try:
        result = run(lambda: _with_runtime(settings, body))
    except ValueError as exc:
        console.print(f"[red]{exc}[/red]")
        raise typer.Exit(1) from exc
    console.print(result)


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Address to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port")] = 8000,
) -> None:
    """Serve the API (and jobs inline when QANAT_REDIS_URL is unset)."""
    import uvicorn

    from qanat.store.migrate import upgrade
    from qanat.web.app import create_app

    settings = settings_or_exit()
    upgrade(settings.database_url)
    uvicorn.run(create_app(settings), host=host, port=port, log_level="info")


@app.command()
def worker(
    burst: Annotated[bool, typer.Option(help="Stop when the queue is empty")] = False,
) -> None:
    """Run an arq worker on QANAT_REDIS_URL (any number of them, on any machines)."""
    from arq.worker import run_worker

    from qanat.worker import WorkerSettings, redis_settings

    settings = settings_or_exit()
    run_worker(
        WorkerSettings,  # type: ignore[arg-type]
        redis_settings=redis_settings(settings),
        burst=burst,
        ctx={"settings": settings},
    )


@app.command()
def demo(
    folder: Annotated[Path, typer.Option(help="Where the demo database lives")] = Path(
        "qanat-demo"
    ),
    serve_after: Annotated[
        bool, typer.Option("--serve/--no-serve", help="Serve the API after the summary")
    ] = True,
    port: Annotated[int, typer.Option(help="Port to serve on")] = 8000,
) -> None:
    """Load a realistic bilingual demo through the real pipeline, summarise, then serve."""
    from qanat.demo.run import run_demo
    from qanat.store.migrate import upgrade

    overrides: dict[str, Any] = {}
    if "QANAT_DATABASE_URL" not in os.environ:
        folder.mkdir(parents=True, exist_ok=True)
        overrides["database_url"] = f"sqlite+aiosqlite:///{folder.resolve() / 'qanat.db'}"
        overrides["attachments_dir"] = folder / "files"
    settings = settings_or_exit(**overrides)
    upgrade(settings.database_url)
    own_database = "QANAT_DATABASE_URL" not in os.environ  # demo logins only there
    run(
        lambda: _with_runtime(
            settings,
            lambda runtime: run_demo(runtime, console=console, with_staff=own_database),
        )
    )
    if serve_after:
        import uvicorn

        from qanat.web.app import create_app

        console.print(f"The inbox: http://127.0.0.1:{port}/ (API docs at /docs). Ctrl-C stops.")
        uvicorn.run(create_app(settings), host="127.0.0.1", port=port, log_level="warning")


def main() -> None:
    """Entry point for ``python -m qanat``."""
    app()


if __name__ == "__main__":
    main()
