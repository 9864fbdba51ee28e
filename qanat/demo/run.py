"""``qanat demo``: load the demo messages through the real pipeline and summarise them.

The messages are moved into the present (:mod:`qanat.demo.timeline`) and each one is
saved and processed at its own moved time; then the demo's staff do their weeks of
work (:mod:`qanat.demo.staff_work`). Run again, it keeps the timeline of the first run
and adds only the messages and staff work whose time has come since.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import Progress
from rich.table import Table
from sqlmodel import col, select

from qanat.demo import demo_messages_path, staff_work
from qanat.demo.citizen_loop import demo_gateways, play_citizen_loop
from qanat.demo.field import DEMO_INSPECTORS, load_field_demo
from qanat.demo.timeline import moved_lines, shift_for
from qanat.ingest.interchange import ImportReport, parse_line
from qanat.outbound.notices import send_due_notices
from qanat.runtime import Runtime
from qanat.store import staff, views
from qanat.store.tables import Message, stamped_at, utcnow
from qanat.store.users import add_user

#: The demo's staff accounts share one password, printed in the summary. They are made
#: only in the demo's own database, never in one named by QANAT_DATABASE_URL.
DEMO_PASSWORD = "qanat-demo-2026"
#: How long before "now" the demo's inspectors asked for and made their visits.
FIELD_WORK_BEFORE = timedelta(hours=5)
#: username → (role, display name, department, block)
DEMO_STAFF = {
    "admin": ("admin", "مدير النظام", None, None),
    "supervisor": ("supervisor", "مشرفة الصرف الصحي", "sewage", None),
    "agent": ("agent", "موظف الصرف الصحي", "sewage", None),
    "roads": ("agent", "موظف الطرق", "roads", None),
    "rep305": ("representative", "ممثل مجمع 305", None, "305"),
}


#: How long after a message arrived qanat processed it, in the demo's story.
PROCESSING_LAG = timedelta(seconds=40)


async def _shift_in_store(runtime: Runtime, first: dict[str, Any]) -> timedelta | None:
    """The shift an earlier run used, read from where it put the file's first message."""
    async with runtime.db.session() as session:
        stored = await session.execute(
            select(Message.received_at).where(
                col(Message.channel) == first["channel"],
                col(Message.account) == first.get("account", "default"),
                col(Message.external_id) == first["external_id"],
            )
        )
        moment = stored.scalar_one_or_none()
    if moment is None:
        return None
    return moment - datetime.fromisoformat(first["received_at"])


async def load_demo(
    runtime: Runtime, *, console: Console, now: datetime, path: Path | None = None
) -> ImportReport:
    """Save the demo's messages whose moved time has come, each at its own time
    (idempotent: a message saved before is not saved again)."""
    import json

    lines = (path or demo_messages_path()).read_text(encoding="utf-8").splitlines()
    records = [json.loads(line) for line in lines]
    shift = await _shift_in_store(runtime, records[0])
    if shift is None:
        shift = shift_for(datetime.fromisoformat(records[-1]["received_at"]), now)
    report = ImportReport()
    due = [(moment, line) for moment, line in moved_lines(lines, shift, runtime.settings.tz)]
    with Progress(console=console, transient=True) as progress:
        task = progress.add_task("Processing demo messages", total=len(due))
        for moment, line in due:
            progress.advance(task)
            if moment > now:
                continue
            with stamped_at(min(moment + PROCESSING_LAG, now)):
                result = await runtime.intake.save(parse_line(line))
            report.saved += result.created
            report.already_known += not result.created
    return report


def summary_tables(summary: dict[str, Any]) -> list[Table]:
    """The demo's summary as tables: totals, departments, channels."""
    totals = Table(title="qanat demo — summary", show_header=False)
    for label, key in (
        ("Messages from citizens", "messages"),
        ("Replies from staff", "replies"),
        ("Tickets", "tickets"),
        ("Tickets resolved", "tickets_resolved"),
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
    runtime: Runtime, *, console: Console, with_staff: bool = True, now: datetime | None = None
) -> dict[str, Any]:
    """Load the demo data (and, in its own database, the demo staff and their work) and
    print the summary. ``now`` is the day the demo is played on (default: now)."""
    now = now or utcnow()
    played = 0
    with demo_gateways(runtime) as gateway:
        report = await load_demo(runtime, console=console, now=now)
        if with_staff and runtime.settings.environment == "development":
            await create_demo_staff(runtime)
            steps = staff_work.plan(await staff_work.tickets_seen(runtime), now)
            played = await staff_work.play(runtime, steps)
            with stamped_at(now - FIELD_WORK_BEFORE):  # inspections on the day's open tickets
                field = await load_field_demo(runtime, password=DEMO_PASSWORD)
            console.print(
                f"Field inspections: {field['inspections']} asked for, {field['visited']} "
                f"visited (inspectors: {', '.join(DEMO_INSPECTORS)})."
            )
            loop = await play_citizen_loop(runtime, now=now)
            console.print(
                f'Citizens asked "is it fixed?": {loop["asked"]}, answered: {loop["answered"]}.'
            )
        await send_due_notices(runtime, now=now)  # what quiet hours held until now
    console.print(f"Notices sent to citizens (acknowledgements first): {gateway.sent}.")
    console.print(
        f"Imported {report.saved} new messages ({report.already_known} already loaded); "
        f"the demo staff did {played} things."
    )
    async with runtime.db.session() as session:
        summary = await views.summary(session)
    for table in summary_tables(summary):
        console.print(table)
    if with_staff and runtime.settings.environment == "development":
        console.print(logins_table())
    return summary
