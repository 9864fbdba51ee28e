"""``qanat reconcile`` and ``qanat report``: the nightly job on demand, and reports."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

from qanat.cli.common import console, run, store_or_exit, with_runtime

report_app = typer.Typer(help="Reports for supervisors.", no_args_is_help=True)


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

    from qanat.ingest.registry import known_channels
    from qanat.jobs.ledger import ledger_rows
    from qanat.jobs.reconcile import reconcile as run_reconcile
    from qanat.store.tables import utcnow

    try:
        start = datetime.fromisoformat(since) if since else utcnow() - timedelta(days=1)
    except ValueError as exc:
        console.print(f"[red]--since {since!r} is not an ISO 8601 time[/red]")
        raise typer.Exit(2) from exc
    channels = known_channels()
    if channel is not None and channel not in channels:
        console.print(
            f"[red]--channel {channel!r} is not a channel qanat knows[/red] "
            f"({', '.join(channels)})."
        )
        raise typer.Exit(2)
    settings = store_or_exit()
    if start.tzinfo is None:
        start = start.replace(tzinfo=settings.tz)

    async def body(runtime: Any) -> Any:
        from qanat.jobs.listers import sources_for

        with _step_display(quiet=as_json) as step:
            return await run_reconcile(
                runtime, since=start, sources=sources_for(runtime), channel=channel, step=step
            )

    report = run(lambda: with_runtime(settings, body))
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
        if not rows:
            where = f" on channel {channel}" if channel else ""
            console.print(f"Nothing to reconcile{where}: no account configured, no message stored.")
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
    from datetime import date, datetime, timedelta

    from qanat.jobs.report_page import render_csv, render_html
    from qanat.jobs.reports import daily_report, department_names, email_daily_report

    settings = store_or_exit(create=False, log_level="INFO" if email else "WARNING")
    today = datetime.now(settings.tz).date()  # the body's day, not the server's
    try:
        chosen = date.fromisoformat(day) if day else today - timedelta(days=1)
    except ValueError as exc:
        console.print(f"[red]--date {day!r} is not YYYY-MM-DD[/red]")
        raise typer.Exit(2) from exc

    async def body(runtime: Any) -> Any:
        if email:
            mailed = await email_daily_report(runtime, chosen)
            console.print(f"The report of {chosen} was mailed to {mailed} supervisors.")
        return await daily_report(runtime, chosen), await department_names(runtime)

    lines, names = run(lambda: with_runtime(settings, body))
    text = render_csv(lines, names)
    if csv_file:
        csv_file.write_text(text, encoding="utf-8")
    if html_file:
        html_file.write_text(render_html(lines, day=chosen, departments=names), encoding="utf-8")
    if not csv_file and not html_file and not email:
        sys.stdout.write(text)
