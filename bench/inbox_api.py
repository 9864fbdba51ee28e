"""Inbox search and queue counts at a national system's scale, on PostgreSQL.

Loads ``--tickets`` tickets (a year of work: most resolved or closed, each with its
message, its citizen's phone and three events of history) into a fresh PostgreSQL
database with COPY, serves the app in this process and times, over ``--requests``
GETs each (p50 / p99):

* ``/api/tickets?queue=all&q=…`` for مجاري, طفح مجاري, a word found nowhere and a
  reference;
* the HTML ``/inbox`` (a page of the open queue and the queue counts) and
  ``/api/inbox/counts``.

Every figure is printed with its baseline from the same run: the same request with the
search and the queue counts as they were before (``LIKE`` over the ticket's text, its
reference, an ``EXISTS`` over its messages and one over its citizen's identities; one
aggregate over the whole table per page), swapped in for the baseline requests.

    python bench/inbox_api.py --database-url postgresql://postgres@127.0.0.1/qanat_bench \\
        [--tickets 100000] [--requests 30] [--again]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import statistics
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import httpx
from inbox_pages import log_in, serve  # type: ignore[import-not-found]  # bench/inbox_pages.py
from sqlalchemy import ColumnElement, and_, case, exists, func, or_
from sqlalchemy.engine.url import make_url
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from qanat.config import Settings, load_settings
from qanat.demo.run import create_demo_staff
from qanat.normalize import match_form
from qanat.runtime import start_runtime, stop_runtime
from qanat.store import inbox, queries
from qanat.store.access import Viewer, visible_tickets
from qanat.store.migrate import upgrade
from qanat.store.tables import ContactIdentity, Message, Ticket, search_text_of

PROBLEMS = [
    ("sms", "طفح مجاري في مجمع {b} طريق {r} منذ يومين"),
    ("x", "حفرة كبيرة في شارع {r} مجمع {b} خطيرة على السيارات"),
    ("telegram", "عمود انارة طايح في طريق {r} بلوك {b}"),
    ("email", "Garbage not collected on Road {r}, Block {b} for a week"),
    ("web", "اقتراح: حديقة للأطفال في مجمع {b}"),
    ("call_centre", "المواطن يشتكي من تسرب مياه في طريق {r} مجمع {b}"),
    ("sms", "رائحة كريهة من فتحة المجاري عند المدرسة في مجمع {b}"),
    ("whatsapp", "انقطاع الكهرباء عن منازل طريق {r} مجمع {b} منذ الصباح"),
]
WORDS = ["عاجل", "الرجاء", "شكرا", "الحي", "البيت", "المسجد", "السوق", "الدوار", "الجسر", "الممر"]
SEARCHES = [("مجاري", "مجاري"), ("طفح مجاري", "طفح مجاري"), ("no match", "زرافة بنفسجية")]


# ---- the data ---------------------------------------------------------------------


async def fresh_database(url: str) -> None:
    """Drop and re-create the database at ``url``."""
    target = make_url(url)
    admin = target.set(drivername="postgresql", database="postgres")
    connection = await asyncpg.connect(admin.render_as_string(hide_password=False))
    try:
        await connection.execute(f'DROP DATABASE IF EXISTS "{target.database}" WITH (FORCE)')
        await connection.execute(f'CREATE DATABASE "{target.database}"')
    finally:
        await connection.close()


def _plain(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


async def load_tickets(settings: Settings, count: int, *, open_share: float = 0.15) -> None:
    """``count`` tickets over the last year (``open_share`` still open, the rest resolved
    or closed), each with its message, citizen, phone and three events, by COPY."""
    runtime = await start_runtime(settings)
    try:
        await create_demo_staff(runtime)
        async with runtime.db.session() as session:
            departments = list((await queries.department_ids(session)).values())
    finally:
        await stop_runtime(runtime)
    pick = random.Random(19)
    now = datetime.now(UTC)
    start = now - timedelta(days=365)
    step = timedelta(days=365) / count
    contacts = max(1, count // 2)
    rows: dict[str, list[tuple[Any, ...]]] = {"contact": [], "contact_identity": []}
    for n in range(1, contacts + 1):
        rows["contact"].append((n, f"مواطن {n}", start))
        rows["contact_identity"].append((n, n, "phone", f"+9733{n:07d}", start))
    tickets, messages, events = [], [], []
    for n in range(1, count + 1):
        channel, template = PROBLEMS[n % len(PROBLEMS)]
        said = template.format(b=300 + n % 700, r=n % 3000) + " " + " ".join(pick.sample(WORDS, 2))
        match = match_form(said)
        contact = 1 + n % contacts
        created = start + step * n
        year, number = (2025, n) if n <= count // 2 else (2026, n - count // 2)
        reference = queries.format_reference(year, number)
        still_open = pick.random() < open_share or created > now - timedelta(days=2)
        status = pick.choice(["new", "open", "open", "pending"]) if still_open else "resolved"
        if not still_open and pick.random() < 0.5:
            status = "closed"
        due = created + timedelta(days=3)
        searched = search_text_of(match, reference, [f"+9733{contact:07d}"])
        tickets.append(
            (
                n, reference, "complaint", status, "normal", pick.choice(departments), None,
                contact, channel, "ar", match, searched,
                str(300 + n % 700), pick.random() < 0.03, "[]", created, created,
                None if still_open else created + timedelta(hours=2),
                None if still_open else created + timedelta(days=1),
                created + timedelta(hours=4), due, created + timedelta(hours=3),
                due - timedelta(days=1), "[]",
            )
        )  # fmt: skip
        messages.append(
            (
                n, channel, "default", f"B{n}", "in", created, f"+9733{contact:07d}", said,
                "[]", "{}", "{}", said.encode(), match, "processed", 0, n, contact, created,
            )
        )  # fmt: skip
        events.append((n, created, "pipeline", "created", json.dumps({"reference": reference})))
        events.append((n, created, "router", "routed", '{"department": "x", "basis": "rules"}'))
        if not still_open:
            events.append((n, created + timedelta(days=1), "staff", "status_changed", "{}"))
    connection = await asyncpg.connect(_plain(settings.database_url))
    try:
        await connection.copy_records_to_table(
            "contact", records=rows["contact"], columns=["id", "display_name", "created_at"]
        )
        await connection.copy_records_to_table(
            "contact_identity",
            records=rows["contact_identity"],
            columns=["id", "contact_id", "kind", "value", "created_at"],
        )
        await connection.copy_records_to_table(
            "ticket",
            records=tickets,
            columns=[
                "id", "reference", "kind", "status", "priority", "department_id", "assignee_id",
                "contact_id", "channel", "language", "match_text", "search_text", "block",
                "needs_triage", "flags", "created_at", "updated_at", "first_response_at",
                "resolved_at", "first_response_due_at", "sla_due_at", "first_response_warn_at",
                "sla_warn_at", "sla_pauses",
            ],
        )  # fmt: skip
        await connection.copy_records_to_table(
            "message",
            records=messages,
            columns=[
                "id", "channel", "account", "external_id", "direction", "received_at",
                "sender_handle", "text", "in_reply_to", "given", "channel_metadata", "raw",
                "match_text", "state", "attempts", "ticket_id", "contact_id", "created_at",
            ],
        )  # fmt: skip
        await connection.copy_records_to_table(
            "event", records=events, columns=["ticket_id", "at", "actor", "type", "data"]
        )
        for table in ("contact", "contact_identity", "ticket", "message"):
            await connection.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), max(id)) FROM {table}"
            )
        await connection.execute("ANALYZE")
    finally:
        await connection.close()


# ---- the baseline: search and queue counts as they were ---------------------------


def _like(word: str) -> str:
    escaped = word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def old_search_condition(words: Sequence[str]) -> ColumnElement[bool] | None:
    """The search before: every word LIKE'd over four places, none of them indexed."""
    if not words:
        return None
    conditions = []
    for word in words[: inbox.SEARCH_WORDS]:
        pattern = _like(word.lstrip("+"))
        in_messages = exists().where(
            col(Message.ticket_id) == col(Ticket.id),
            col(Message.match_text).like(pattern, escape="\\"),
        )
        in_identities = exists().where(
            col(ContactIdentity.contact_id) == col(Ticket.contact_id),
            func.lower(col(ContactIdentity.value)).like(pattern, escape="\\"),
        )
        conditions.append(
            or_(
                col(Ticket.match_text).like(pattern, escape="\\"),
                func.lower(col(Ticket.reference)).like(pattern, escape="\\"),
                in_messages,
                in_identities,
            )
        )
    return and_(*conditions)


async def old_queue_counts(
    session: AsyncSession, *, viewer: Viewer, queues: list[str], now: datetime, **_: Any
) -> dict[str, int]:
    """The queue counts before: one aggregate over every visible ticket."""
    if not queues:
        return {}
    columns = [
        func.coalesce(
            func.sum(case((inbox.queue_condition(q, viewer=viewer, now=now), 1), else_=0)), 0
        )
        for q in queues
    ]
    statement = select(*columns).select_from(Ticket).where(visible_tickets(viewer))
    row = (await session.execute(statement)).one()
    return {queue: int(count) for queue, count in zip(queues, row, strict=True)}


@contextmanager
def as_before() -> Iterator[None]:
    """Within the block, the app searches and counts as it did before."""
    kept = inbox.search_condition, inbox.queue_counts
    inbox.search_condition, inbox.queue_counts = old_search_condition, old_queue_counts  # type: ignore[assignment]
    try:
        yield
    finally:
        inbox.search_condition, inbox.queue_counts = kept


# ---- timing -----------------------------------------------------------------------


def percentiles(spent: list[float]) -> tuple[float, float]:
    """(p50, p99) in ms."""
    ordered = sorted(spent)
    return statistics.median(ordered), ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]


def timed(client: httpx.Client, path: str, params: dict[str, str], requests: int) -> list[float]:
    """Milliseconds of ``requests`` GETs (after one to warm up), counts never reused."""
    client.get(path, params=params)
    spent = []
    for _ in range(requests):
        inbox._ticket_writes[0] += 1  # a count is measured, not the copy kept of it
        started = time.perf_counter()
        answer = client.get(path, params=params)
        spent.append((time.perf_counter() - started) * 1000)
        assert answer.status_code == 200, (path, answer.status_code)
    return spent


def loadavg() -> str:
    """The machine's load average now."""
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


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
    parser.add_argument("--requests", type=int, default=30)
    parser.add_argument(
        "--again", action="store_true", help="time the tickets the last run loaded (--tickets)"
    )
    args = parser.parse_args()
    if not args.database_url or not args.database_url.startswith("postgresql"):
        parser.error("--database-url postgresql://… (a database this may drop and re-create)")
    settings = load_settings(database_url=args.database_url, access_log=False)
    if args.again:
        upgrade(args.database_url)
    else:
        asyncio.run(fresh_database(args.database_url))
        upgrade(args.database_url)
        started = time.perf_counter()
        asyncio.run(load_tickets(settings, args.tickets))
        print(f"{args.tickets} tickets loaded in {time.perf_counter() - started:.0f}s")
    reference = queries.format_reference(2026, args.tickets // 4)
    cases = [
        *[(f"search {label}", "/api/tickets", {"queue": "all", "q": q}) for label, q in SEARCHES],
        ("search a reference", "/api/tickets", {"queue": "all", "q": reference}),
        ("queue counts", "/api/inbox/counts", {}),
        ("HTML /inbox", "/inbox", {}),
    ]
    server, thread, port = serve(settings)
    print(f"{args.requests} GETs each, p50 / p99 in ms; PostgreSQL, one process")
    print(f"{'':<22}{'before (baseline)':>22}{'after':>20}{'p99 ratio':>11}  load average")
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=300) as client:
            log_in(client)
            for label, path, params in cases:
                with as_before():
                    before = percentiles(timed(client, path, params, args.requests))
                after = percentiles(timed(client, path, params, args.requests))
                ratio = before[1] / after[1]
                print(
                    f"{label:<22}{before[0]:>10.1f} / {before[1]:>8.1f}"
                    f"{after[0]:>9.1f} / {after[1]:>8.1f}{ratio:>10.0f}x  {loadavg()}"
                )
    finally:
        server.should_exit = True
        thread.join(timeout=10)


if __name__ == "__main__":
    main()
