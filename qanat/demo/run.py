"""``qanat demo``: load the demo messages through the real pipeline and summarise them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import Progress
from rich.table import Table

from qanat.demo import demo_messages_path
from qanat.interchange import ImportReport, count_lines, import_file
from qanat.runtime import Runtime
from qanat.store import views


async def load_demo(
    runtime: Runtime, *, console: Console, path: Path | None = None
) -> ImportReport:
    """Import the demo data (idempotent: a second run adds nothing)."""
    source = path or demo_messages_path()
    with Progress(console=console, transient=True) as progress:
        task = progress.add_task("Processing demo messages", total=count_lines(source))
        return await import_file(runtime, source, advance=lambda: progress.advance(task))


def summary_tables(summary: dict[str, Any]) -> list[Table]:
    """The demo's summary as tables: totals, departments, channels."""
    totals = Table(title="qanat demo — summary", show_header=False)
    for label, key in (
        ("Messages", "messages"),
        ("Tickets", "tickets"),
        ("Duplicates linked to a primary", "duplicates_linked"),
        ("Follow-ups joined to their ticket", "follow_ups"),
        ("Tickets needing triage", "needs_triage"),
        ("Citizens seen on several channels", "contacts_on_several_channels"),
        ("Dead letters", "dead_letters"),
    ):
        totals.add_row(label, str(summary[key]))
    departments = Table(title="Tickets per department")
    departments.add_column("Department")
    departments.add_column("Tickets", justify="right")
    for code, count in summary["tickets_per_department"].items():
        departments.add_row(code, str(count))
    channels = Table(title="Messages per channel")
    channels.add_column("Channel")
    channels.add_column("Messages", justify="right")
    for channel, count in summary["messages_per_channel"].items():
        channels.add_row(channel, str(count))
    return [totals, departments, channels]


async def run_demo(runtime: Runtime, *, console: Console) -> dict[str, Any]:
    """Load the demo data and print the summary; returns the summary."""
    report = await load_demo(runtime, console=console)
    console.print(
        f"Imported {report.saved} new messages ({report.already_known} already loaded, "
        f"{len(report.bad_lines)} unreadable lines)."
    )
    async with runtime.db.session() as session:
        summary = await views.summary(session)
    for table in summary_tables(summary):
        console.print(table)
    return summary
