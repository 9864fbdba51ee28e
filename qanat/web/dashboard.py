"""The dashboard page, its JSON, and CSV exports of its tables and of the tickets."""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator, Iterable
from datetime import date, datetime, time, timedelta
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response, StreamingResponse
from sqlmodel import col, select

from qanat.errors import NotFound
from qanat.router.sla import timing_of
from qanat.runtime import Runtime
from qanat.store import dashboard, inspections, satisfaction
from qanat.store.access import Viewer, visible_tickets
from qanat.store.tables import Department, Ticket, User, utcnow
from qanat.web import charts, i18n, schemas
from qanat.web.auth import ReportReader
from qanat.web.deps import RuntimeDep
from qanat.web.names import Names, NamesDep
from qanat.web.templating import page

router = APIRouter(include_in_schema=False)
api_router = APIRouter(tags=["reports"])

Days = Query(default=30, ge=1, le=366)
#: Characters that make a spreadsheet treat a cell as a formula.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
EXPORT_BATCH = 500


async def field_figures(runtime: Runtime, days: int) -> dict[str, Any]:
    """Field visits over the same days: how many, by decision, far off, and overdue now."""
    tz, now = runtime.settings.tz, utcnow()
    first_day = now.astimezone(tz).date() - timedelta(days=days - 1)
    since = datetime.combine(first_day, time.min, tzinfo=tz)
    async with runtime.db.session() as session:
        counts = await inspections.visit_counts(session, start=since, end=now + timedelta(days=1))
        counts["overdue"] = await inspections.overdue_count(session, now=now)
    return counts


async def figures_for(runtime: Runtime, viewer: Viewer, days: int) -> dashboard.Figures:
    """The dashboard figures for the last ``days`` local days (today included), each time
    in SLA hours against the target its rules give."""
    tz = runtime.settings.tz
    now = utcnow()
    first_day = now.astimezone(tz).date() - timedelta(days=days - 1)
    since = datetime.combine(first_day, time.min, tzinfo=tz)
    async with runtime.db.session() as session:
        facts = await dashboard.ticket_facts(session, viewer=viewer, since=since)
    timer = timing_of(runtime.rules(), tz)
    return dashboard.measure(facts, first_day=first_day, days=days, now=now, tz=tz, timer=timer)


def drill(first_day: date, last_day: date, **filters: str) -> str:
    """The list of the tickets a figure counts (created in the period, with ``filters``)."""
    query = {"queue": "all", "date_from": first_day.isoformat(), "date_to": last_day.isoformat()}
    return "/inbox?" + urlencode({**query, **filters})


def chart_set(figures: dashboard.Figures, language: str, names: Names) -> dict[str, Any]:
    """The dashboard's charts, labelled in ``language``, each bar leading to its list."""
    t = i18n.translator(language)
    rows = figures.departments
    first, last = figures.days[0], figures.days[-1]
    labels = [names.department(language, r["department"]) for r in rows]
    by_department = [drill(first, last, department=r["department"]) for r in rows]
    return {
        "channels": charts.stacked_daily(
            figures.days, figures.per_channel, title=t("volume_per_channel"),
            labels={k: i18n.value_name(language, k) for k in figures.per_channel},
            href=lambda channel, day: drill(day, day, channel=channel),
        ),
        "departments": charts.stacked_daily(
            figures.days, figures.per_department, title=t("volume_per_department"),
            labels={k: names.department(language, k) for k in figures.per_department},
            href=lambda code, day: drill(day, day, department=code),
        ),
        "response": charts.horizontal_bars(
            [(label, r["response_rate"] or 0) for label, r in zip(labels, rows, strict=True)],
            title=t("response_rate"), unit="%", hrefs=by_department,
        ),
        "first_response": charts.against_target(
            [(label, r["first_response_hours"], r["first_response_target"])
             for label, r in zip(labels, rows, strict=True)],
            title=t("first_response"), names=(t("first_response"), t("first_response_target")),
            hrefs=by_department,
        ),
        "resolution": charts.against_target(
            [(label, r["resolution_hours"], r["resolution_target"])
             for label, r in zip(labels, rows, strict=True)],
            title=t("resolution_time"), names=(t("resolution_time"), t("resolution_target")),
            hrefs=[drill(first, last, department=r["department"], breached="1") for r in rows],
        ),
    }  # fmt: skip


async def satisfaction_for(runtime: Runtime, viewer: Viewer, days: int) -> dict[str, Any]:
    """What citizens answered to "is it fixed?" over the same days: overall, and per
    department, channel, category and month."""
    tz, now = runtime.settings.tz, utcnow()
    first_day = now.astimezone(tz).date() - timedelta(days=days - 1)
    since = datetime.combine(first_day, time.min, tzinfo=tz)
    async with runtime.db.session() as session:
        facts = await satisfaction.survey_facts(
            session, start=since, end=now + timedelta(days=1), viewer=viewer
        )
    return {
        "overall": satisfaction.summarise(facts),
        "department": satisfaction.by(facts, lambda f: f.department),
        "channel": satisfaction.by(facts, lambda f: f.channel),
        "category": satisfaction.by(facts, lambda f: f.category or "none"),
        "month": satisfaction.by(facts, lambda f: f.asked_at.astimezone(tz).strftime("%Y-%m")),
    }


def satisfaction_chart(figures: dict[str, Any], language: str, names: Names) -> dict[str, Any]:
    """Bars of the share satisfied per department and per channel."""
    t = i18n.translator(language)
    return {
        "department": charts.horizontal_bars(
            [(names.department(language, code), row["csat"] or 0)
             for code, row in figures["department"].items()],
            title=t("csat_per_department"), unit="%",
        ),
        "channel": charts.horizontal_bars(
            [(i18n.value_name(language, channel), row["csat"] or 0)
             for channel, row in figures["channel"].items()],
            title=t("csat_per_channel"), unit="%",
        ),
    }  # fmt: skip


@router.get("/dashboard")
async def dashboard_page(
    request: Request, runtime: RuntimeDep, viewer: ReportReader, names: NamesDep, days: int = Days
) -> Response:
    """Volume, response, first response and resolution against their targets, breaches,
    each agent's workload and recurring places; every bar opens the list it counts."""
    figures = await figures_for(runtime, viewer, days)
    first, last = figures.days[0], figures.days[-1]
    satisfied = await satisfaction_for(runtime, viewer, days)
    language = i18n.language_of(viewer.language)
    return page(
        request,
        "dashboard.html",
        viewer=viewer,
        satisfaction=satisfied,
        satisfaction_charts=satisfaction_chart(satisfied, language, names),
        field=await field_figures(runtime, days),
        names=names,
        figures=figures,
        charts=chart_set(figures, i18n.language_of(viewer.language), names),
        days=days,
        drill=lambda **filters: drill(first, last, **filters),
    )


@api_router.get("/dashboard", response_model=schemas.Dashboard, response_model_exclude_unset=True)
async def dashboard_json(runtime: RuntimeDep, viewer: ReportReader, days: int = Days) -> Any:
    """The dashboard's figures as JSON (times in SLA hours, with their targets)."""
    figures = await figures_for(runtime, viewer, days)
    return {
        "days": [d.isoformat() for d in figures.days],
        "per_channel": figures.per_channel,
        "per_department": figures.per_department,
        "departments": figures.departments,
        "overall": figures.overall,
        "places": figures.places,
        "field": await field_figures(runtime, days),
        "agents": figures.agents,
        "satisfaction": await satisfaction_for(runtime, viewer, days),
    }


def csv_cell(value: Any) -> Any:
    """A cell that a spreadsheet will not run as a formula."""
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return "" if value is None else value


def csv_lines(rows: Iterable[list[Any]]) -> str:
    """Rows as CSV lines, each cell made formula-safe."""
    buffer = io.StringIO()
    csv.writer(buffer).writerows([csv_cell(v) for v in row] for row in rows)
    return buffer.getvalue()


def csv_text(header: list[str], rows: Iterable[list[Any]]) -> str:
    """CSV with a byte-order mark, so spreadsheet programs read the Arabic right."""
    return "\ufeff" + csv_lines([header]) + csv_lines(rows)


def csv_response(body: str | AsyncIterator[str], name: str) -> Response:
    """A CSV download."""
    headers = {"Content-Disposition": f'attachment; filename="{name}.csv"'}
    if isinstance(body, str):
        return Response(body, media_type="text/csv; charset=utf-8", headers=headers)
    return StreamingResponse(body, media_type="text/csv; charset=utf-8", headers=headers)


@router.get("/dashboard/{table}.csv")
async def dashboard_csv(
    runtime: RuntimeDep, viewer: ReportReader, names: NamesDep, table: str, days: int = Days
) -> Response:
    """One of the dashboard's tables as CSV, headed and named in the viewer's language."""
    if table in SATISFACTION_TABLES:
        tables = satisfaction_tables(await satisfaction_for(runtime, viewer, days))
    else:
        tables = dashboard.tables(await figures_for(runtime, viewer, days))
    if table not in tables:
        raise NotFound(f"no dashboard table {table!r}; there are {', '.join(tables)}")
    keys, rows = tables[table]
    language = i18n.language_of(viewer.language)
    header, named = human_table(keys, rows, language=language, names=names)
    return csv_response(csv_text(header, named), f"qanat-{table}-{days}d")


#: The satisfaction tables' CSV names → the grouping each holds.
SATISFACTION_TABLES = {
    "satisfaction_by_department": "department",
    "satisfaction_by_channel": "channel",
    "satisfaction_by_category": "category",
    "satisfaction_by_month": "month",
}
SATISFACTION_COLUMNS = [
    "asked", "survey_answered", "satisfied", "reopened", "csat", "average_score",
    "survey_response_rate", "reopen_rate",
]  # fmt: skip


def satisfaction_tables(
    figures: dict[str, Any],
) -> dict[str, tuple[list[str], list[list[Any]]]]:
    """The satisfaction figures as tables: one row per department, channel, … ."""
    fields = ["asked", "answered", "satisfied", "reopened", "csat", "average_score",
              "response_rate", "reopen_rate"]  # fmt: skip
    return {
        name: (
            [group, *SATISFACTION_COLUMNS],
            [[key, *(row[f] for f in fields)] for key, row in figures[group].items()],
        )
        for name, group in SATISFACTION_TABLES.items()
    }


def human_table(
    keys: list[str], rows: list[list[Any]], *, language: str, names: Names
) -> tuple[list[str], list[list[Any]]]:
    """A table with headers people read and names instead of codes."""
    t = i18n.translator(language)
    header = [t(f"col_{key}") for key in keys]
    shown: dict[str, Any] = {
        "department": lambda code: names.department(language, code) or code,
        "channel": lambda code: i18n.value_name(language, code),
        "assignee": names.person,
    }
    return header, [
        [
            shown[key](value) if key in shown and value else value
            for key, value in zip(keys, row, strict=True)
        ]
        for row in rows
    ]


TICKET_COLUMNS = [
    "reference", "created_at", "channel", "kind", "status", "priority", "department",
    "assignee", "block", "road", "primary_reference", "first_response_at", "resolved_at",
    "sla_due_at",
]  # fmt: skip


async def _ticket_lines(runtime: Runtime, viewer: Viewer) -> AsyncIterator[str]:
    yield csv_text(TICKET_COLUMNS, [])
    last_id = 0
    while True:
        async with runtime.db.session() as session:
            departments: dict[int, str] = dict(
                (await session.execute(select(Department.id, Department.code))).all()
            )
            users: dict[int, str] = dict(
                (await session.execute(select(User.id, User.username))).all()
            )
            batch = list(
                (
                    await session.execute(
                        select(Ticket)
                        .where(col(Ticket.id) > last_id, visible_tickets(viewer))
                        .order_by(col(Ticket.id))
                        .limit(EXPORT_BATCH)
                    )
                ).scalars()
            )
            primaries: dict[int, str] = dict(
                (
                    await session.execute(
                        select(Ticket.id, Ticket.reference).where(
                            col(Ticket.id).in_({t.primary_ticket_id for t in batch})
                        )
                    )
                ).all()
            )
        if not batch:
            return
        yield csv_lines(_ticket_row(t, departments, users, primaries) for t in batch)
        last_id = batch[-1].id or last_id


def _ticket_row(
    ticket: Ticket, departments: dict[int, str], users: dict[int, str], primaries: dict[int, str]
) -> list[Any]:
    def stamp(moment: datetime | None) -> str | None:
        return moment.isoformat() if moment else None

    return [
        ticket.reference, stamp(ticket.created_at), ticket.channel, ticket.kind, ticket.status,
        ticket.priority, departments.get(ticket.department_id or 0),
        users.get(ticket.assignee_id or 0), ticket.block, ticket.road,
        primaries.get(ticket.primary_ticket_id or 0), stamp(ticket.first_response_at),
        stamp(ticket.resolved_at), stamp(ticket.sla_due_at),
    ]  # fmt: skip


@router.get("/export/tickets.csv")
async def tickets_csv(runtime: RuntimeDep, viewer: ReportReader) -> Response:
    """Every ticket the viewer may see, as CSV."""
    return csv_response(_ticket_lines(runtime, viewer), "qanat-tickets")
