"""Inbox search on SQLite and PostgreSQL: Arabic letter forms, references and phones by
index, and the messages that join a ticket later."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import text

from qanat.normalize import match_form
from qanat.store import inbox
from qanat.store.access import Viewer
from qanat.store.db import Database
from qanat.store.tables import Contact, ContactIdentity, Ticket, add_search_text, search_text_of
from qanat.web.inbox_pages import search_words

ADMIN = Viewer(user_id=1, username="admin", display_name="Admin", role="admin")
NOW = datetime(2026, 12, 1, 9, tzinfo=UTC)
TZ = ZoneInfo("Asia/Bahrain")


def ticket(number: int, said: str, **fields: object) -> Ticket:
    return Ticket(
        reference=f"QN-2026-{number:06d}",
        kind="complaint",
        status="new",
        channel="sms",
        match_text=match_form(said),
        created_at=NOW,
        **fields,  # type: ignore[arg-type]
    )


async def found(db: Database, q: str) -> list[str]:
    filters = inbox.InboxFilters(queue="all", q=q, words=search_words(q))
    async with db.session() as session:
        rows = await inbox.inbox_rows(session, filters=filters, viewer=ADMIN, now=NOW, tz=TZ)
    return [row.ticket.reference for row in rows]


async def seed(db: Database) -> None:
    async with db.writing() as session:
        citizen = Contact(display_name="مواطن")
        session.add(citizen)
        await session.flush()
        session.add(ContactIdentity(contact_id=citizen.id or 0, kind="phone", value="+97339001122"))
        session.add(ticket(1, "حفرة كبيرة في الشارع"))
        session.add(ticket(2, "طفح مجاري أمام البيت"))
        pipeline_like = ticket(3, "الإنارة معطلة", contact_id=citizen.id)
        pipeline_like.search_text = search_text_of(
            pipeline_like.match_text, pipeline_like.reference, ["+97339001122"]
        )
        session.add(pipeline_like)
        session.add(ticket(41, "شكوى عن الحديقة"))
        await session.flush()
        add_search_text(pipeline_like, match_form("ومازالت الحفرة هناك"))  # a follow-up


async def test_letter_forms_match_either_way(database_url: str) -> None:
    db = Database.from_url(database_url)
    await seed(db)
    try:
        assert await found(db, "حفره") == ["QN-2026-000003", "QN-2026-000001"]
        assert await found(db, "حفرة") == ["QN-2026-000003", "QN-2026-000001"]
        assert await found(db, "مجارى طفح") == ["QN-2026-000002"]
        assert await found(db, "الأنارة") == ["QN-2026-000003"]
        assert await found(db, "لا شيء يطابق") == []
        assert await found(db, "100%_") == []  # LIKE wildcards are literal
    finally:
        await db.dispose()


async def test_a_reference_or_a_phone_is_found_exactly(database_url: str) -> None:
    db = Database.from_url(database_url)
    await seed(db)
    try:
        assert inbox.reference_searched(search_words("qn-2026-000041")) == "QN-2026-000041"
        assert inbox.reference_searched(search_words("QN 2026 41")) == "QN-2026-000041"
        assert inbox.reference_searched(search_words("QN-2026-41 حفرة")) is None
        assert await found(db, "QN-2026-000041") == ["QN-2026-000041"]
        assert await found(db, "qn2026000004") == []  # not QN-2026-000041's prefix
        assert await found(db, "qn 2026 000041 حديقه") == ["QN-2026-000041"]  # by words
        assert await found(db, "39001122") == ["QN-2026-000003"]
        assert await found(db, "+973 3900 1122") == ["QN-2026-000003"]
        assert await found(db, "39001123") == []
    finally:
        await db.dispose()


async def test_postgres_serves_search_and_references_by_index(empty_postgres_url: str) -> None:
    db = Database.from_url(empty_postgres_url)
    await seed(db)
    plans = []
    try:
        async with db.session() as session:
            await session.execute(text("SET enable_seqscan = off"))
            for q in ("حفرة", "QN-2026-000041", "39001122"):
                filters = inbox.InboxFilters(queue="all", q=q, words=search_words(q))
                statement = (
                    inbox.select(Ticket)
                    .where(*inbox.inbox_conditions(filters, viewer=ADMIN, now=NOW, tz=TZ))
                    .compile(session.bind, compile_kwargs={"literal_binds": True})  # type: ignore[arg-type]
                )
                explained = await session.execute(text(f"EXPLAIN {statement}"))
                plans.append("\n".join(row[0] for row in explained))
    finally:
        await db.dispose()
    assert "ix_ticket_search_trgm" in plans[0]
    assert "ix_ticket_reference" in plans[1]
    assert "ix_contact_identity_value" in plans[2]


async def test_queue_counts_stop_at_the_cap_and_are_reused_briefly(database_url: str) -> None:
    db = Database.from_url(database_url)
    await seed(db)
    queues = ["all", "open", "triage"]
    try:
        async with db.session() as session:
            first = await inbox.queue_counts(session, viewer=ADMIN, queues=queues, now=NOW)
            capped = await inbox.queue_counts(session, viewer=ADMIN, queues=queues, now=NOW, cap=2)
        assert first == {"all": 4, "open": 4, "triage": 0}
        assert capped == {"all": 3, "open": 3, "triage": 0}  # 3: "more than 2"
        # A ticket written behind this process's back shows after a few seconds …
        async with db.writing() as session:
            await session.execute(
                text(
                    "INSERT INTO ticket (reference, kind, status, priority, channel, match_text,"
                    " search_text, needs_triage, flags, created_at, updated_at, sla_pauses)"
                    " VALUES ('QN-2026-000050', 'complaint', 'new', 'normal', 'sms', '', '',"
                    " true, '[]', :at, :at, '[]')"
                ),
                {"at": NOW},
            )
        async with db.session() as session:
            again = await inbox.queue_counts(session, viewer=ADMIN, queues=queues, now=NOW)
            later = NOW + inbox.QUEUE_COUNTS_FOR
            fresh = await inbox.queue_counts(session, viewer=ADMIN, queues=queues, now=later)
        assert again == first
        assert fresh == {"all": 5, "open": 5, "triage": 1}
        # … and one this process writes, at once.
        async with db.writing() as session:
            session.add(ticket(51, "حفرة"))
        async with db.session() as session:
            now = await inbox.queue_counts(session, viewer=ADMIN, queues=queues, now=later)
        assert now["all"] == 6
    finally:
        await db.dispose()


def test_a_phone_without_country_code_is_read_in_the_bodys_region() -> None:
    assert search_words("39001122") == ("+97339001122",)  # Bahrain, the default
    assert search_words("0501234567", "SA") == ("+966501234567",)
    assert search_words("0501234567", "AE") == ("+971501234567",)
