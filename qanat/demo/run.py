"""``qanat demo``: load the demo messages through the real pipeline and summarise them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import Progress
from rich.table import Table

from qanat.demo import demo_messages_path
from qanat.demo.field import DEMO_INSPECTORS, load_field_demo
from qanat.ingest.interchange import ImportReport, count_lines, import_file
from qanat.runtime import Runtime
from qanat.store import staff, views
from qanat.store.users import add_user

#: The demo's staff accounts share one password, printed in the summary. They are made
#: only in the demo's own database, never in one named by QANAT_DATABASE_URL.
DEMO_PASSWORD = "qanat-demo-2026"
#: username → (role, display name, department, block)
DEMO_STAFF = {
    "admin": ("admin", "مدير النظام", None, None),
    "supervisor": ("supervisor", "مشرفة الصرف الصحي", "sewage", None),
    "agent": ("agent", "موظف الصرف الصحي", "sewage", None),
    "roads": ("agent", "موظف الطرق", "roads", None),
    "rep305": ("representative", "ممثل مجمع 305", None, "305"),
}


async def load_demo(
    runtime: Runtime, *, console: Console, path: Path | None = None
) -> ImportReport:
    """Import the demo data (idempotent: a second run adds nothing)."""
    source = path or demo_messages_path()
    with Progress(console=console, transient=True) as progress:
        task = progress.add_task("Processing demo messages", total=count_lines(source))
        return await import_file(runtime.intake, source, advance=lambda: progress.advance(task))


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


async def create_demo_staff(runtime: Runtime) -> list[str]:
    """Create the demo's staff accounts that do not exist yet; returns their usernames."""
    created = []
    for username, (role, name, department, block) in DEMO_STAFF.items():
        async with runtime.db.session() as session:
            if await staff.user_named(session, username=username) is not None:
                continue
        await add_user(
            runtime.db,
            username=username,
            role=role,
            display_name=name,
            password=DEMO_PASSWORD,
            department=department,
            block=block,
        )
        created.append(username)
    return created


def logins_table() -> Table:
    """Who to log in as, to see the inbox through each role's eyes."""
    table = Table(title=f"Log in to the inbox — password for every account: {DEMO_PASSWORD}")
    table.add_column("Username")
    table.add_column("Role")
    table.add_column("Sees")
    for username, (role, _name, department, block) in DEMO_STAFF.items():
        sees = {"admin": "everything"}.get(role) or (
            f"department {department}" if department else f"own reports, block {block}"
        )
        table.add_row(username, role, sees)
    return table


async def run_demo(
    runtime: Runtime, *, console: Console, with_staff: bool = True
) -> dict[str, Any]:
    """Load the demo data (and demo staff accounts) and print the summary."""
    report = await load_demo(runtime, console=console)
    if with_staff and runtime.settings.environment == "development":
        await create_demo_staff(runtime)
        field = await load_field_demo(runtime, password=DEMO_PASSWORD)
        console.print(
            f"Field inspections: {field['inspections']} asked for, {field['visited']} visited "
            f"(inspectors: {', '.join(DEMO_INSPECTORS)})."
        )
    console.print(
        f"Imported {report.saved} new messages ({report.already_known} already loaded, "
        f"{len(report.bad_lines)} unreadable lines)."
    )
    async with runtime.db.session() as session:
        summary = await views.summary(session)
    for table in summary_tables(summary):
        console.print(table)
    if with_staff and runtime.settings.environment == "development":
        console.print(logins_table())
    return summary
