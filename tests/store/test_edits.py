"""record_edit: a citizen's edit changes the stored text and shows on the ticket's timeline."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlmodel import col

from qanat.model import Inbound, Sender
from qanat.runtime import Runtime
from qanat.store.edits import record_edit
from qanat.store.tables import Event, Message, Ticket

SENT = datetime(2026, 11, 2, 5, 0, tzinfo=UTC)


def version(text: str, *, minutes: int = 0, external_id: str = "5123456789:41") -> Inbound:
    return Inbound(
        channel="telegram",
        account="bot",
        external_id=external_id,
        received_at=SENT + timedelta(minutes=minutes),
        sender=Sender(handle="5123456789"),
        text=text,
        raw=f'{{"text": "{text}"}}'.encode(),
    )


async def edit(runtime: Runtime, inbound: Inbound) -> int | None:
    async with runtime.db.writing() as session:
        return await record_edit(session, inbound=inbound)


async def edit_events(runtime: Runtime) -> list[Event]:
    async with runtime.db.session() as session:
        found = await session.execute(select(Event).where(col(Event.type) == "message_edited"))
        return list(found.scalars())


async def test_an_edit_replaces_the_text_and_records_both_versions(runtime: Runtime) -> None:
    saved = await runtime.intake.save(version("تسرب مياه في طريق ٤٥"))
    message_id = await edit(runtime, version("تسرب مياه في طريق ٤٧", minutes=20))
    assert message_id == saved.message_id
    async with runtime.db.session() as session:
        message = await session.get(Message, saved.message_id)
        assert message is not None and message.ticket_id is not None
        ticket = await session.get(Ticket, message.ticket_id)
    assert message.text == "تسرب مياه في طريق ٤٧"
    assert message.raw == version("تسرب مياه في طريق ٤٥").raw  # the first version, as received
    assert message.channel_metadata["edits"] == [
        {"at": "2026-11-02T05:20:00+00:00", "old_text": "تسرب مياه في طريق ٤٥"}
    ]
    [event] = await edit_events(runtime)
    assert event.ticket_id == message.ticket_id and event.actor == "telegram"
    assert event.data["old_text"] == "تسرب مياه في طريق ٤٥"
    assert event.data["new_text"] == "تسرب مياه في طريق ٤٧"
    assert event.data["raw"] == '{"text": "تسرب مياه في طريق ٤٧"}'
    assert ticket is not None and ticket.updated_at > ticket.created_at


async def test_the_same_edit_twice_is_recorded_once(runtime: Runtime) -> None:
    await runtime.intake.save(version("أول"))
    for _ in range(2):
        await edit(runtime, version("ثاني", minutes=5))
    await edit(runtime, version("ثالث", minutes=9))
    events = await edit_events(runtime)
    assert [(e.data["old_text"], e.data["new_text"]) for e in events] == [
        ("أول", "ثاني"),
        ("ثاني", "ثالث"),
    ]


async def test_an_edit_of_an_unknown_message_changes_nothing(runtime: Runtime) -> None:
    assert await edit(runtime, version("جديد", external_id="5123456789:99")) is None
    assert await edit_events(runtime) == []


async def test_the_intake_saves_an_edit_it_has_not_seen_as_a_new_message(runtime: Runtime) -> None:
    result = await runtime.intake.edit(version("رسالة معدلة وصلت أولاً"))
    assert result.created
    again = await runtime.intake.edit(version("تعديل آخر", minutes=1))
    assert (again.message_id, again.created) == (result.message_id, False)
    async with runtime.db.session() as session:
        tickets = list((await session.execute(select(Ticket))).scalars())
    assert len(tickets) == 1
