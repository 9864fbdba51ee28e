"""Store queries, on SQLite and on PostgreSQL."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from sqlalchemy import delete, func, select
from sqlmodel import col

from qanat.model import Attachment, Identity, Inbound, Sender
from qanat.store import queries
from qanat.store.db import Database
from qanat.store.tables import Attachment as AttachmentRow
from qanat.store.tables import Contact, ContactIdentity, Department, Message


def sms(external_id: str, text: str = "طفح مجاري في مجمع 305") -> Inbound:
    return Inbound(
        channel="sms",
        external_id=external_id,
        received_at=datetime(2026, 11, 2, 5, 30, tzinfo=UTC),
        sender=Sender(handle="+97333123456", phone="+97333123456"),
        text=text,
        raw=b"From=%2B97333123456&Body=raw+bytes\x00\xff",
    )


async def test_saving_twice_returns_the_existing_row(database_url: str) -> None:
    db = Database.from_url(database_url)
    async with db.writing() as session:
        first = await queries.save_message(session, inbound=sms("SM1"))
    async with db.writing() as session:
        second = await queries.save_message(session, inbound=sms("SM1", text="changed"))
    async with db.session() as session:
        count = (await session.execute(select(func.count()).select_from(Message))).scalar_one()
        stored = await session.get(Message, first[0])
    await db.dispose()
    assert first[1] is True and second == (first[0], False)
    assert count == 1
    assert stored is not None and stored.text == "طفح مجاري في مجمع 305"
    assert stored.raw == b"From=%2B97333123456&Body=raw+bytes\x00\xff"
    assert stored.received_at == datetime(2026, 11, 2, 5, 30, tzinfo=UTC)


async def test_same_external_id_on_another_account_is_another_message(database_url: str) -> None:
    db = Database.from_url(database_url)
    async with db.writing() as session:
        a = await queries.save_message(session, inbound=sms("SM1"))
        other = sms("SM1").model_copy(update={"account": "governorate-line"})
        b = await queries.save_message(session, inbound=other)
    await db.dispose()
    assert a[0] != b[0] and a[1] and b[1]


async def test_attachments_are_saved_with_their_message(database_url: str) -> None:
    db = Database.from_url(database_url)
    photo = Attachment(name="حفرة.jpg", content_type="image/jpeg", size=3, sha256="ab" * 32)
    inbound = sms("SM2").model_copy(update={"attachments": [photo]})
    async with db.writing() as session:
        message_id, _ = await queries.save_message(session, inbound=inbound)
        await queries.save_message(session, inbound=inbound)
    async with db.session() as session:
        rows = (await session.execute(select(AttachmentRow))).scalars().all()
    await db.dispose()
    assert [(r.message_id, r.name, r.size) for r in rows] == [(message_id, "حفرة.jpg", 3)]


async def test_references_are_sequential_per_year(database_url: str) -> None:
    db = Database.from_url(database_url)
    async with db.writing() as session:
        got = [await queries.next_reference(session, year=2026) for _ in range(3)]
        got.append(await queries.next_reference(session, year=2027))
    await db.dispose()
    assert got == ["QN-2026-000001", "QN-2026-000002", "QN-2026-000003", "QN-2027-000001"]


async def test_concurrent_references_never_repeat(database_url: str) -> None:
    db = Database.from_url(database_url)

    async def take() -> str:
        async with db.writing() as session:
            return await queries.next_reference(session, year=2026)

    got = await asyncio.gather(*(take() for _ in range(20)))
    await db.dispose()
    assert len(set(got)) == 20
    assert max(got) == "QN-2026-000020"


async def test_cursor_is_inserted_then_replaced(database_url: str) -> None:
    db = Database.from_url(database_url)
    async with db.writing() as session:
        assert await queries.get_cursor(session, channel="email", account="inbox") is None
        await queries.put_cursor(
            session, channel="email", account="inbox", value={"uidvalidity": 7, "last_uid": 10}
        )
    async with db.writing() as session:
        await queries.put_cursor(
            session, channel="email", account="inbox", value={"uidvalidity": 7, "last_uid": 12}
        )
    async with db.session() as session:
        value = await queries.get_cursor(session, channel="email", account="inbox")
    await db.dispose()
    assert value == {"uidvalidity": 7, "last_uid": 12}


async def test_identities_attach_to_the_contact_that_owns_one(database_url: str) -> None:
    db = Database.from_url(database_url)
    phone = Identity(kind="phone", value="+97333123456")
    telegram = Identity(kind="telegram", value="5550001")
    async with db.writing() as session:
        first = await queries.contact_for_identities(
            session, identities=[phone], display_name="Ali"
        )
        second = await queries.contact_for_identities(
            session, identities=[telegram, phone], display_name=None
        )
        again = await queries.contact_for_identities(
            session, identities=[telegram], display_name=None
        )
    async with db.session() as session:
        contacts = (await session.execute(select(func.count()).select_from(Contact))).scalar_one()
        owned = (
            await session.execute(select(ContactIdentity.kind, ContactIdentity.contact_id))
        ).all()
    await db.dispose()
    assert first == second == again
    assert contacts == 1
    assert sorted(owned) == [("phone", first), ("telegram", first)]


async def test_no_identity_means_no_contact(database_url: str) -> None:
    db = Database.from_url(database_url)
    async with db.writing() as session:
        assert (
            await queries.contact_for_identities(session, identities=[], display_name="x") is None
        )
    await db.dispose()


async def test_two_workers_creating_the_same_citizen_end_with_one_contact(
    database_url: str,
) -> None:
    db = Database.from_url(database_url)
    phone = Identity(kind="phone", value="+97333123456")
    email = Identity(kind="email", value="ali@example.bh")

    async def worker(identities: list[Identity]) -> int | None:
        async with db.writing() as session:
            return await queries.contact_for_identities(
                session, identities=identities, display_name=None
            )

    got = await asyncio.gather(worker([phone, email]), worker([phone]), worker([email, phone]))
    async with db.session() as session:
        contacts = (await session.execute(select(func.count()).select_from(Contact))).scalar_one()
        owners = set((await session.execute(select(ContactIdentity.contact_id))).scalars())
    await db.dispose()
    assert len(set(got)) == 1 and contacts == 1 and owners == set(got)


async def test_a_batch_reads_its_citizens_once_and_learns_the_ones_it_makes(
    database_url: str,
) -> None:
    """Owners read for a batch: a citizen made by its first message is found by its
    second; one that another worker made after the read is adopted, not doubled."""
    db = Database.from_url(database_url)
    phone = Identity(kind="phone", value="+97333123456")
    email = Identity(kind="email", value="ali@example.bh")
    async with db.writing() as session:
        known = await queries.identity_owners(session, identities=[phone, email])
        assert known == {("email", "ali@example.bh"): None, ("phone", "+97333123456"): None}
        first, new = await queries.identify_contact(
            session, identities=[phone], display_name=None, known=known
        )
        again, new_again = await queries.identify_contact(
            session, identities=[phone], display_name=None, known=known
        )
    async with db.writing() as session:  # another worker makes the email's citizen
        other = await queries.contact_for_identities(session, identities=[email], display_name=None)
    async with db.writing() as session:  # ``known`` still says the email is nobody's
        adopted, adopted_new = await queries.identify_contact(
            session, identities=[email], display_name=None, known=known
        )
    async with db.session() as session:
        contacts = (await session.execute(select(func.count()).select_from(Contact))).scalar_one()
    await db.dispose()
    assert new and not new_again and first == again
    assert adopted == other and not adopted_new and contacts == 2
    assert known[("email", "ali@example.bh")] == other


async def test_two_processes_starting_together_make_each_department_once(
    postgres_url: str,
) -> None:
    # `qanat serve` and the workers sync the rules' departments as they start; on a new
    # database the second must wait for the first and leave its rows alone.
    rows = [("zz_roads", "Roads", "الطرق", None), ("zz_parks", "Parks", "الحدائق", None)]
    first, second = Database.from_url(postgres_url), Database.from_url(postgres_url)
    try:
        async with first.writing() as session:
            made = await queries.sync_departments(session, departments=rows)

            async def sync_again() -> dict[str, int]:
                async with second.writing() as other:
                    return await queries.sync_departments(other, departments=rows)

            waiting = asyncio.create_task(sync_again())
            await asyncio.sleep(0.3)  # blocked on the first's uncommitted rows
            assert not waiting.done()
        found = await waiting
        assert {code: found[code] for code, *_ in rows} == {code: made[code] for code, *_ in rows}
    finally:
        async with first.writing() as session:
            await session.execute(delete(Department).where(col(Department.code).like("zz_%")))
        await first.dispose()
        await second.dispose()


async def test_references_taken_in_blocks_are_unique_and_rise_in_each_process(
    database_url: str,
) -> None:
    first, second = Database.from_url(database_url), Database.from_url(database_url)
    handed: list[tuple[str, str]] = []
    try:
        for _ in range(4):
            for name, db in (("first", first), ("second", second)):
                async with db.writing() as session:
                    handed.append((name, await queries.next_reference(session, year=2026, block=3)))
    finally:
        await first.dispose()
        await second.dispose()
    references = [reference for _name, reference in handed]
    assert len(set(references)) == 8
    for name in ("first", "second"):
        own = [reference for who, reference in handed if who == name]
        assert own == sorted(own)
    if first.is_sqlite:  # one process, one writer: one by one, in order
        assert references == [f"QN-2026-{n:06d}" for n in range(1, 9)]
    else:  # blocks of three: 1-3 and 4-6, then 7-9 and 10-12
        assert references[:4] == [
            "QN-2026-000001",
            "QN-2026-000004",
            "QN-2026-000002",
            "QN-2026-000005",
        ]
