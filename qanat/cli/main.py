"""The ``qanat`` command: serve, worker, demo, import, export, user, db.

Every command reads its settings from ``QANAT_*`` variables at start, so a script can
point any of them at a scratch database with ``QANAT_DATABASE_URL``.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
from collections.abc import AsyncIterator, Callable, Coroutine, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

from qanat.config import Settings, load_settings
from qanat.errors import ConfigError

app = typer.Typer(help="qanat — one inbox for every channel citizens use.", no_args_is_help=True)
db_app = typer.Typer(help="The database: migrations.", no_args_is_help=True)
export_app = typer.Typer(help="Write tickets or messages as JSON Lines.", no_args_is_help=True)
user_app = typer.Typer(help="Staff accounts.", no_args_is_help=True)
report_app = typer.Typer(help="Reports for supervisors.", no_args_is_help=True)
app.add_typer(report_app, name="report")


def _register_stage_commands() -> None:
    # Each stage owns its commands; the CLI only mounts them.
    from qanat.cli.dedupe import app as dedupe_app
    from qanat.cli.normalize import normalize_command
    from qanat.cli.router import app as router_app
    from qanat.cli.social import app as social_app
    from qanat.web.open311_keys import app as open311_app

    app.command("normalize")(normalize_command)
    app.add_typer(router_app, name="router")
    app.add_typer(dedupe_app, name="dedupe")
    app.add_typer(social_app, name="social")
    app.add_typer(open311_app, name="open311")


_register_stage_commands()
connectors_app = typer.Typer(
    help="Channel connectors (built-in and plugins).", no_args_is_help=True
)
app.add_typer(connectors_app, name="connectors")
app.add_typer(db_app, name="db")
app.add_typer(export_app, name="export")
app.add_typer(user_app, name="user")

# soft_wrap: error lines stay whole, so scripts can grep them.
console = Console(stderr=True, soft_wrap=True)
T = TypeVar("T")


def settings_or_exit(*, log_level: str = "WARNING", **overrides: Any) -> Settings:
    """Load the settings, or exit with the reason naming the variable at fault.

    Also sets up JSON logging (``QANAT_LOG_LEVEL`` wins over the command's default).
    """
    from qanat.logs import configure_logging

    configure_logging(os.environ.get("QANAT_LOG_LEVEL", log_level))
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
    from qanat.ingest.interchange import count_lines, import_file
    from qanat.store.migrate import upgrade

    settings = settings_or_exit()
    upgrade(settings.database_url)

    async def body(runtime: Any) -> Any:
        with Progress(console=console, transient=True) as progress:
            task = progress.add_task(f"Importing {file.name}", total=count_lines(file))
            return await import_file(runtime.intake, file, advance=lambda: progress.advance(task))

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
    email: Annotated[
        str | None, typer.Option(help="Where alerts (admins) and reports (supervisors) go")
    ] = None,
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
            email=email,
            password=password,
        )

    try:
        result = run(lambda: _with_runtime(settings, body))
    except ValueError as exc:
        console.print(f"[red]{exc}[/red]")
        raise typer.Exit(1) from exc
    console.print(result)


@user_app.command("set")
def user_set(
    username: str,
    languages: Annotated[
        str | None, typer.Option(help="Languages they take tickets in: ar, en or ar,en")
    ] = None,
    shift: Annotated[
        str | None, typer.Option(help="HH:MM-HH:MM on working days; '' clears")
    ] = None,
    away_until: Annotated[
        str | None, typer.Option(help="Away until this ISO time (no new tickets until then)")
    ] = None,
    back: Annotated[bool, typer.Option(help="Back from an absence")] = False,
    email: Annotated[str | None, typer.Option(help="For SLA warnings and escalations")] = None,
) -> None:
    """Change how new tickets reach a member of staff (assignment and SLA mail)."""
    from datetime import datetime

    from qanat.router.assign import parse_shift
    from qanat.store.users import set_work_details

    settings = settings_or_exit()
    try:
        if shift:
            parse_shift(shift)
        until = datetime.fromisoformat(away_until) if away_until else None
        if until is not None and until.tzinfo is None:
            until = until.replace(tzinfo=settings.tz)
        result = run(
            lambda: _with_runtime(
                settings,
                lambda runtime: set_work_details(
                    runtime.db,
                    username=username,
                    languages=None
                    if languages is None
                    else [part.strip() for part in languages.split(",") if part.strip()],
                    shift=shift,
                    away_until=until,
                    back=back,
                    email=email,
                ),
            )
        )
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

    settings = settings_or_exit(log_level="INFO")
    upgrade(settings.database_url)
    uvicorn.run(create_app(settings), host=host, port=port, log_level="info")


@app.command()
def worker(
    burst: Annotated[bool, typer.Option(help="Stop when the queue is empty")] = False,
) -> None:
    """Run an arq worker on QANAT_REDIS_URL (any number of them, on any machines)."""
    from arq.worker import run_worker

    from qanat.worker import WorkerSettings, redis_settings

    settings = settings_or_exit(log_level="INFO")
    run_worker(
        WorkerSettings,  # type: ignore[arg-type]
        redis_settings=redis_settings(settings),
        burst=burst,
        ctx={"settings": settings},
        timezone=settings.tz,
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

        base = f"http://127.0.0.1:{port}"
        console.print(f"The inbox: {base}/ (API docs at /docs). Ctrl-C stops.")
        console.print(f"Citizens' complaint form: {base}/report (status: {base}/report/status)")
        console.print(f"Open311 GeoReport v2: {base}/open311/v2/services.json")
        uvicorn.run(create_app(settings), host="127.0.0.1", port=port, log_level="warning")


@app.command()
def reconcile(
    since: Annotated[
        str | None, typer.Option(help="ISO time; default: 24 hours before now")
    ] = None,
    channel: Annotated[str | None, typer.Option(help="Only this channel")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the ledger as JSON")] = False,
) -> None:
    """Reconcile now: gap check, stuck work, dead letters, SLA, integrity, ledger.

    A progress bar on a terminal; plain step lines otherwise; only JSON with --json.
    """
    from datetime import datetime, timedelta

    from qanat.jobs.ledger import ledger_rows
    from qanat.jobs.reconcile import reconcile as run_reconcile
    from qanat.store.migrate import upgrade
    from qanat.store.tables import utcnow

    settings = settings_or_exit()
    try:
        start = datetime.fromisoformat(since) if since else utcnow() - timedelta(days=1)
    except ValueError as exc:
        console.print(f"[red]--since {since!r} is not an ISO 8601 time[/red]")
        raise typer.Exit(2) from exc
    if start.tzinfo is None:
        start = start.replace(tzinfo=settings.tz)
    upgrade(settings.database_url)

    async def body(runtime: Any) -> Any:
        from qanat.jobs.listers import sources_for

        with _step_display(quiet=as_json) as step:
            return await run_reconcile(
                runtime, since=start, sources=sources_for(runtime), channel=channel, step=step
            )

    report = run(lambda: _with_runtime(settings, body))
    rows = ledger_rows(report)
    if as_json:
        summary = {
            "ok": report.ok,
            "ledger": rows,
            "breaches": report.breaches,
            "failed_steps": report.failed_steps,
        }
        print(json.dumps(summary, ensure_ascii=False))
    else:
        _print_ledger(rows, report.breaches, report.failed_steps)
    if not report.ok:
        raise typer.Exit(1)


@contextmanager
def _step_display(*, quiet: bool) -> Iterator[Callable[[str, int, int], None]]:
    """How the reconciliation shows its steps: a bar on a terminal, lines elsewhere."""
    if quiet:
        yield lambda _name, _number, _total: None
    elif console.is_terminal:
        with Progress(
            TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), console=console
        ) as progress:
            task = progress.add_task("Reconciling", total=None)

            def show(name: str, number: int, total: int) -> None:
                progress.update(task, description=name, completed=number - 1, total=total)

            yield show
            progress.update(task, description="done", completed=progress.tasks[0].total)
    else:
        yield lambda name, number, total: console.print(f"[{number}/{total}] {name}", markup=False)


def _print_ledger(
    rows: list[dict[str, Any]], breaches: dict[str, list[str]], failed: dict[str, str]
) -> None:
    for row in rows:
        source = row["source_count"] if row["source_count"] is not None else "n/a"
        console.print(
            f"{row['channel']}/{row['account']}: {row['status']} — source {source}, stored "
            f"{row['stored_count']}, backfilled {row['backfilled']}, reprocessed "
            f"{row['reprocessed']}, dead letters {row['dead_lettered']}, late duplicates "
            f"{row['late_duplicates']}",
            markup=False,
        )
        for error in row["errors"]:
            console.print(f"  {error}", style="red", markup=False)
    for name, why in failed.items():
        console.print(f"Step {name} failed: {why}", style="red", markup=False)
    for department, references in breaches.items():
        console.print(f"SLA breaches in {department}: {', '.join(references)}", markup=False)


@report_app.command("daily")
def report_daily(
    day: Annotated[
        str | None, typer.Option("--date", help="YYYY-MM-DD; default: yesterday")
    ] = None,
    csv_file: Annotated[Path | None, typer.Option("--csv", help="Write CSV here")] = None,
    html_file: Annotated[Path | None, typer.Option("--html", help="Write HTML here")] = None,
    email: Annotated[
        bool, typer.Option("--email", help="Mail it to the supervisors (mail must be set up)")
    ] = False,
) -> None:
    """Received, resolved, response rate, medians and breaches per department and channel."""
    from datetime import date, timedelta

    from qanat.jobs.reports import daily_report, email_daily_report, render_csv, render_html

    settings = settings_or_exit(log_level="INFO" if email else "WARNING")
    try:
        chosen = date.fromisoformat(day) if day else date.today() - timedelta(days=1)
    except ValueError as exc:
        console.print(f"[red]--date {day!r} is not YYYY-MM-DD[/red]")
        raise typer.Exit(2) from exc

    async def body(runtime: Any) -> Any:
        if email:
            mailed = await email_daily_report(runtime, chosen)
            console.print(f"The report of {chosen} was mailed to {mailed} supervisors.")
        return await daily_report(runtime, chosen)

    lines = run(lambda: _with_runtime(settings, body))
    text = render_csv(lines)
    if csv_file:
        csv_file.write_text(text, encoding="utf-8")
    if html_file:
        html_file.write_text(render_html(lines, day=chosen), encoding="utf-8")
    if not csv_file and not html_file and not email:
        sys.stdout.write(text)


@app.command()
def smtp(
    host: Annotated[str | None, typer.Option(help="Address (default QANAT_SMTP_HOST)")] = None,
    port: Annotated[int | None, typer.Option(help="Port (default QANAT_SMTP_PORT)")] = None,
) -> None:
    """Receive mail for QANAT_SMTP_DOMAINS over SMTP until stopped (250 only after commit)."""
    from qanat.ingest.email.connector import smtp_options
    from qanat.ingest.email.smtp import run_smtp
    from qanat.store.migrate import upgrade

    settings = settings_or_exit(log_level="INFO")
    if not settings.smtp_domain_set():
        console.print("[red]Set QANAT_SMTP_DOMAINS: qanat is not an open relay.[/red]")
        raise typer.Exit(2)
    upgrade(settings.database_url)

    async def body(runtime: Any) -> None:
        await run_smtp(
            runtime.intake,
            host or settings.smtp_host,
            port or settings.smtp_port,
            **smtp_options(settings),
        )

    try:
        run(lambda: _with_runtime(settings, body))
    except KeyboardInterrupt:
        console.print("SMTP listener stopped.")


@app.command("import-calls")
def import_calls(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="Asterisk Master.csv")],
) -> None:
    """Import call records: calls join their caller's contact; missed calls await a call back."""
    from qanat.ingest.call_centre import import_cdr
    from qanat.store.db import Database
    from qanat.store.migrate import upgrade

    settings = settings_or_exit()
    upgrade(settings.database_url)

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


@connectors_app.command("list")
def connectors_list(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON")] = False,
) -> None:
    """Installed connectors: version, capabilities, configured accounts (secrets hidden)."""
    from qanat.ingest.accounts import load_accounts
    from qanat.ingest.registry import discover, redacted

    settings = settings_or_exit()
    specs, refused = discover()
    try:
        accounts = load_accounts(settings.connectors_file)
    except ConfigError as exc:
        console.print(f"[red]{exc}[/red]")
        raise typer.Exit(2) from exc
    rows: list[dict[str, Any]] = [
        {
            "name": spec.name,
            "version": spec.version,
            "contract": spec.contract_version,
            "capabilities": sorted(spec.capabilities),
            "description": spec.description,
            "accounts": [redacted(spec, entry) for entry in accounts.get(spec.name, [])],
        }
        for spec in sorted(specs.values(), key=lambda s: s.name)
    ]
    if as_json:
        print(
            json.dumps(
                {"connectors": rows, "refused": [r.__dict__ for r in refused]}, ensure_ascii=False
            )
        )
        return
    for row in rows:
        names = ", ".join(str(a.get("account")) for a in row["accounts"]) or "no accounts"
        print(f"{row['name']} {row['version']} [{', '.join(row['capabilities'])}] — {names}")
    for refusal in refused:
        print(f"refused {refusal.name}: {refusal.reason}")


@connectors_app.command("check")
def connectors_check(name: str) -> None:
    """Validate every configured account of connector NAME and report what is wrong."""
    from qanat.ingest.accounts import load_accounts
    from qanat.ingest.registry import account_config, discover

    settings = settings_or_exit()
    specs, refused = discover()
    for refusal in refused:
        if refusal.name == name:
            console.print(f"[red]{name} is installed but refused: {refusal.reason}[/red]")
            raise typer.Exit(1)
    spec = specs.get(name)
    if spec is None:
        console.print(f"[red]No connector {name!r} is installed[/red] ({', '.join(specs)}).")
        raise typer.Exit(1)
    try:
        entries = load_accounts(settings.connectors_file).get(name, [])
        for entry in entries:
            account_config(spec, entry)
            console.print(f"{name} account {entry.get('account')!r}: configuration is valid")
    except ConfigError as exc:
        console.print(f"[red]{exc}[/red]")
        raise typer.Exit(1) from exc
    if not entries:
        console.print(f"{name}: installed, no account configured in QANAT_CONNECTORS_FILE")


def main() -> None:
    """Entry point for ``python -m qanat``."""
    app()


if __name__ == "__main__":
    main()
