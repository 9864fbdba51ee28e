"""The daily report: what each department and channel received, resolved, and how fast.

The numbers the body is judged by — response rate, speed, breaches — per department and
per channel, for one local day. Computed by a pure function over ticket rows; rendered in
Arabic and English by :mod:`qanat.jobs.report_page` (CSV, and an HTML page with an inline
SVG chart: no scripts, no remote loads).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta
from statistics import median
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, or_, select

from qanat.jobs.deps import JobDeps
from qanat.store.satisfaction import SurveyFact, summarise, survey_facts
from qanat.store.tables import Department, Ticket
from qanat.store.views import department_codes

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TicketFacts:
    """What the report needs of one ticket."""

    department: str
    channel: str
    created_at: datetime
    first_response_at: datetime | None
    resolved_at: datetime | None
    sla_due_at: datetime | None


@dataclass(frozen=True)
class ReportLine:
    """One row of the daily report."""

    group: str  # "department" or "channel"
    name: str
    received: int
    resolved: int
    responded: int
    median_first_response_h: float | None
    median_resolution_h: float | None
    breaches: int
    #: "Is it fixed?": surveys sent, the share satisfied and the average 1-5 score of the
    #: answers, the share answered, and the share that said no (reopened) — percentages.
    surveys: int = 0
    csat: float | None = None
    average_score: float | None = None
    survey_response_rate: float | None = None
    reopen_rate: float | None = None

    @property
    def response_rate(self) -> float | None:
        """Share of the day's tickets that got a first response."""
        return self.responded / self.received if self.received else None


def day_window(day: date, tz: ZoneInfo) -> tuple[datetime, datetime]:
    """The start and end of a local day, as aware datetimes."""
    start = datetime.combine(day, time.min, tzinfo=tz)
    return start, start + timedelta(days=1)


def _hours(delta: timedelta) -> float:
    return round(delta.total_seconds() / 3600, 2)


def _line(
    group: str, name: str, facts: list[TicketFacts], start: datetime, end: datetime
) -> ReportLine:
    received = [f for f in facts if start <= f.created_at < end]
    resolved = [f for f in facts if f.resolved_at and start <= f.resolved_at < end]
    responded = [f for f in received if f.first_response_at]
    first = [_hours(f.first_response_at - f.created_at) for f in responded if f.first_response_at]
    resolution = [_hours(f.resolved_at - f.created_at) for f in resolved if f.resolved_at]
    breaches = sum(
        1
        for f in facts
        if f.sla_due_at is not None
        and start <= f.sla_due_at < end
        and (f.resolved_at is None or f.resolved_at > f.sla_due_at)
    )
    return ReportLine(
        group,
        name,
        len(received),
        len(resolved),
        len(responded),
        median(first) if first else None,
        median(resolution) if resolution else None,
        breaches,
    )


def daily_lines(
    facts: Iterable[TicketFacts],
    *,
    start: datetime,
    end: datetime,
    surveys: Iterable[SurveyFact] = (),
) -> list[ReportLine]:
    """Report lines per department and per channel for the window ``[start, end)``, with
    the satisfaction the day's survey answers show."""
    rows = list(facts)
    asked = list(surveys)
    lines: list[ReportLine] = []
    for group, key in (("department", "department"), ("channel", "channel")):
        names = sorted({getattr(f, key) for f in rows} | {getattr(f, key) for f in asked})
        for name in names:
            subset = [f for f in rows if getattr(f, key) == name]
            line = _with_satisfaction(
                _line(group, name, subset, start, end),
                [f for f in asked if getattr(f, key) == name],
            )
            if line.received or line.resolved or line.breaches or line.surveys:
                lines.append(line)
    return lines


def _with_satisfaction(line: ReportLine, surveys: list[SurveyFact]) -> ReportLine:
    if not surveys:
        return line
    figures = summarise(surveys)
    return replace(
        line,
        surveys=figures["asked"],
        csat=figures["csat"],
        average_score=figures["average_score"],
        survey_response_rate=figures["response_rate"],
        reopen_rate=figures["reopen_rate"],
    )


async def ticket_facts(
    session: AsyncSession, *, start: datetime, end: datetime
) -> list[TicketFacts]:
    """Primary tickets created, resolved or due in the window (duplicates ride on primaries)."""
    departments = await department_codes(session)
    rows = await session.execute(
        select(Ticket).where(
            col(Ticket.primary_ticket_id).is_(None),
            or_(
                (col(Ticket.created_at) >= start) & (col(Ticket.created_at) < end),
                (col(Ticket.resolved_at) >= start) & (col(Ticket.resolved_at) < end),
                (col(Ticket.sla_due_at) >= start) & (col(Ticket.sla_due_at) < end),
            ),
        )
    )
    return [
        TicketFacts(
            department=departments.get(t.department_id or -1, "unassigned"),
            channel=t.channel,
            created_at=t.created_at,
            first_response_at=t.first_response_at,
            resolved_at=t.resolved_at,
            sla_due_at=t.sla_due_at,
        )
        for t in rows.scalars()
    ]


def field_lines(counts: dict[str, int]) -> list[ReportLine]:
    """The day's field visits as report lines of group ``field``: each line's ``received``
    is how many visits ended that way (``visits`` all of them, ``far`` those flagged)."""
    names = ("visits", "resolved", "needs_work", "violation", "no_access", "far")
    return [
        ReportLine("field", name, counts.get(name, 0), 0, 0, None, None, 0)
        for name in names
        if counts.get("visits")
    ]


async def daily_report(deps: JobDeps, day: date) -> list[ReportLine]:
    """The report lines of local day ``day``, from the store (field visits last)."""
    from qanat.store.inspections import visit_counts

    start, end = day_window(day, deps.settings.tz)
    async with deps.db.session() as session:
        facts = await ticket_facts(session, start=start, end=end)
        surveys = await survey_facts(session, start=start, end=end)
        lines = daily_lines(facts, start=start, end=end, surveys=surveys)
        return lines + field_lines(await visit_counts(session, start=start, end=end))


async def department_names(deps: JobDeps) -> dict[str, tuple[str, str]]:
    """Department code → (Arabic, English) names, for the report."""
    async with deps.db.session() as session:
        rows = await session.execute(
            select(Department.code, Department.name_ar, Department.name_en)
        )
        return {code: (ar, en) for code, ar, en in rows}


async def email_daily_report(deps: JobDeps, day: date) -> int:
    """Mail the day's report (text and HTML) to the active supervisors who gave an address;
    how many were written to (0 when mail isn't configured or nobody gave one)."""
    from qanat.jobs.report_page import render_csv, render_html
    from qanat.outbound.staff_mail import queue_staff_mail, staff_addresses, staff_relay

    if staff_relay(deps.accounts, deps.settings.notify_account) is None:
        log.info("mail is not configured: the daily report of %s is not mailed", day)
        return 0
    recipients = await staff_addresses(deps.db, "supervisor")
    if not recipients:
        log.info("no supervisor has an email address: the daily report of %s is not mailed", day)
        return 0
    lines = await daily_report(deps, day)
    names = await department_names(deps)
    subject = f"qanat: التقرير اليومي / daily report {day.isoformat()}"
    return await queue_staff_mail(
        deps,
        recipients,
        subject,
        render_csv(lines, names),
        html=render_html(lines, day=day, departments=names),
    )
