"""The SLA check at scale on PostgreSQL: time and memory, before and after, same run.

Loads ``--tickets`` tickets over a year into a fresh PostgreSQL database by COPY
(``--open`` of them still running, so most of those are past their deadlines) and
times the check twice: the first run, which announces every deadline, and a later
one, which finds nothing new (what every check after the first does). The baseline is
the check as it was (every candidate loaded as an ORM object with all its
announcements, one event object per alert), run in a transaction that is rolled back;
the peak of memory allocated by Python during each is from ``tracemalloc``, in a second
round after the announcements are forgotten (it slows Python, so times are taken
without it).

    python bench/sla.py --database-url postgresql://postgres@127.0.0.1/qanat_bench \\
        [--tickets 100000] [--open 0.9]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import time
import tracemalloc
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

from inbox_api import fresh_database, load_tickets, loadavg  # type: ignore[import-not-found]
from sqlalchemy import and_, delete, or_, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from qanat.config import load_settings
from qanat.jobs import sla_watch
from qanat.jobs.deps import JobDeps
from qanat.runtime import start_runtime, stop_runtime
from qanat.store import queries
from qanat.store.migrate import upgrade
from qanat.store.tables import Event, Ticket, utcnow


def _old_candidates(now: datetime) -> Any:
    unanswered = col(Ticket.first_response_at).is_(None)
    return (
        select(Ticket)
        .where(
            col(Ticket.status).in_(sla_watch._RUNNING),
            col(Ticket.primary_ticket_id).is_(None),
            or_(
                and_(unanswered, col(Ticket.first_response_warn_at) <= now),
                and_(unanswered, col(Ticket.first_response_due_at) <= now),
                col(Ticket.sla_warn_at) <= now,
                col(Ticket.sla_due_at) <= now,
            ),
        )
        .order_by(col(Ticket.id))
    )


async def old_check(deps: JobDeps, now: datetime) -> int:
    """The check as it was, rolled back at the end; returns how many alerts it made."""
    async with deps.db.sessions() as session, session.begin():
        alerts = await _old_alerts(session, now)
        for alert in alerts:
            await queries.add_event(
                session, actor="sla", type=alert.type, ticket_id=alert.ticket_id, data={}
            )
        await session.flush()
        await session.rollback()
    return len(alerts)


async def _old_alerts(session: AsyncSession, now: datetime) -> list[sla_watch.SlaAlert]:
    tickets = list((await session.execute(_old_candidates(now))).scalars())
    seen = await sla_watch._announced(session, [t.id for t in tickets if t.id is not None])
    recipients = await sla_watch._recipients(session)
    alerts = []
    for ticket in tickets:
        assert ticket.id is not None
        for kind, clock, due in sla_watch.due_alerts(ticket, now):
            if (ticket.id, kind, clock, due) in seen:
                continue
            to = recipients.of(ticket, kind)
            alerts.append(
                sla_watch.SlaAlert(ticket.id, ticket.reference, None, kind, clock, due, to)
            )
    return alerts


async def new_check(deps: JobDeps, now: datetime) -> int:
    """The check as it is now (committed); returns how many alerts it made."""
    return len(await sla_watch.check_sla(deps, now=now))


async def measured(
    check: Callable[[JobDeps, datetime], Awaitable[int]],
    deps: JobDeps,
    now: datetime,
    *,
    memory: bool,
) -> tuple[float, int]:
    """(seconds, or peak MB allocated with ``memory``; alerts) of one check."""
    if memory:
        tracemalloc.start()
    started = time.perf_counter()
    alerts = await check(deps, now)
    figure = time.perf_counter() - started
    if memory:
        figure = tracemalloc.get_traced_memory()[1] / 1e6
        tracemalloc.stop()
    return figure, alerts


async def forget_announcements(deps: JobDeps) -> None:
    """Back to no deadline announced (between the timing and the memory rounds)."""
    async with deps.db.writing() as session:
        await session.execute(
            delete(Event).where(col(Event.type).in_([sla_watch.WARNING, sla_watch.ESCALATED]))
        )
        await session.execute(
            update(Ticket).values(
                first_response_warned_for=None,
                first_response_escalated_for=None,
                sla_warned_for=None,
                sla_escalated_for=None,
            )
        )


async def compare(url: str, *, baseline: bool = True) -> None:
    runtime = await start_runtime(load_settings(database_url=url))
    now = utcnow()
    try:
        async with runtime.db.session() as session:
            overdue = await queries.count_rows(
                session,
                Ticket,
                col(Ticket.status).in_(sla_watch._RUNNING),
                col(Ticket.sla_due_at) <= now,
            )
        print(f"running tickets past their resolution deadline: {overdue}")
        print(f"{'':<30}{'before (baseline)':>20}{'after':>12}{'alerts':>9}  load average")
        for memory, unit in ((False, "s"), (True, "MB")):
            await forget_announcements(runtime)
            for label in ("first check (announces all)", "later check (nothing new)"):
                if baseline:
                    before, alerts = await measured(old_check, runtime, now, memory=memory)
                after, made = await measured(new_check, runtime, now, memory=memory)
                if baseline:
                    assert made == alerts, (made, alerts)
                was = f"{before:>17.2f} {unit:<2}" if baseline else f"{'-':>20}"
                print(f"{label:<30}{was}{after:>9.2f} {unit:<2}{made:>9}  {loadavg()}")
    finally:
        await stop_runtime(runtime)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--database-url",
        default=os.environ.get(
            "QANAT_BENCH_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/qanat_bench"
        ),
        help="a scratch PostgreSQL database, dropped and made again (QANAT_BENCH_DATABASE_URL)",
    )
    parser.add_argument("--tickets", type=int, default=100_000)
    parser.add_argument("--open", type=float, default=0.9, help="share of tickets still running")
    parser.add_argument(
        "--no-baseline",
        action="store_true",
        help="time the check as it is only (the baseline loads every overdue ticket: at a "
        "million, gigabytes and minutes)",
    )
    args = parser.parse_args()
    if not args.database_url or not args.database_url.startswith("postgresql"):
        parser.error("--database-url postgresql://… (a database this may drop and re-create)")
    asyncio.run(fresh_database(args.database_url))
    upgrade(args.database_url)
    settings = load_settings(database_url=args.database_url)
    asyncio.run(load_tickets(settings, args.tickets, open_share=args.open))
    print(
        f"{args.tickets} tickets ({args.open:.0%} running); time (s), then peak memory "
        "Python allocated (MB, tracemalloc) in a second round"
    )
    asyncio.run(compare(args.database_url, baseline=not args.no_baseline))


if __name__ == "__main__":
    main()
