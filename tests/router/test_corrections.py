"""Learning from staff corrections: a transfer is kept, and training uses it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlmodel import col, select

from qanat.model import Inbound, Sender
from qanat.router.corrections import training_examples
from qanat.router.training import train_router
from qanat.runtime import Runtime
from qanat.store import actions, staff
from qanat.store.tables import Event, Ticket, User
from tests.support.routers import trained

START = datetime(2026, 11, 2, 5, 0, tzinfo=UTC)


def sms(external_id: str, text: str, phone: str) -> Inbound:
    return Inbound(
        channel="sms",
        external_id=external_id,
        received_at=START + timedelta(minutes=int(external_id[2:])),
        sender=Sender(handle=phone, phone=phone),
        text=text,
    )


async def transfer(runtime: Runtime, reference: str, department: str) -> None:
    async with runtime.db.writing() as session:
        user = User(username="sup", display_name="sup", password_hash="-", role="admin")
        session.add(user)
        await session.flush()
        ticket = (
            await session.execute(select(Ticket).where(col(Ticket.reference) == reference))
        ).scalar_one()
        await actions.transfer(
            session,
            viewer=staff.viewer_of(user),
            ticket=ticket,
            department=department,
            reason="rubbish on the pavement is cleanliness work",
            ip=None,
        )


async def test_a_transfer_teaches_the_corrected_department(runtime: Runtime) -> None:
    runtime.router_model = trained(
        [("العشب يابس", "parks"), ("الحشيش يابس وايد", "parks"), ("حفرة", "roads")]
    )
    await runtime.intake.save(sms("SM1", "المطعم يرمي أكياس على الرصيف كل يوم", "+97333000001"))
    await runtime.intake.save(sms("SM2", "حفرة كبيرة في طريق 12 مجمع 305", "+97333000002"))
    await runtime.intake.save(sms("SM3", "الحشيش يابس في الساحة", "+97333000003"))
    await transfer(runtime, "QN-2026-000001", "cleanliness")  # keyword رصيف sent it to roads

    async with runtime.db.session() as session:
        [kept] = (
            await session.execute(select(Event.data).where(col(Event.type) == "transferred"))
        ).scalars()
        found = await training_examples(session)
    assert kept["from"] == "roads" and kept["to"] == "cleanliness" and kept["correction"]
    taught = [(example.department, example.weight) for example in found.examples]
    # The corrected ticket teaches cleanliness, and counts twice; the rule-routed one
    # stays; the model's own unconfirmed guess (parks) is left out.
    assert taught == [("cleanliness", 2.0), ("roads", 1.0)]
    assert found.corrections == 1 and found.unconfirmed_guesses == 1
    retrained = train_router(found.examples)
    guess = retrained.predict("يرمون أكياس على الرصيف")
    assert guess is not None and guess[0] == "cleanliness"


async def test_a_learned_guess_counts_once_staff_resolve_the_ticket(runtime: Runtime) -> None:
    runtime.router_model = trained([("العشب يابس", "parks"), ("حفرة", "roads")])
    await runtime.intake.save(sms("SM1", "العشب يابس في الساحة", "+97333000001"))
    async with runtime.db.writing() as session:
        user = User(username="sup", display_name="sup", password_hash="-", role="admin")
        session.add(user)
        await session.flush()
        ticket = (await session.execute(select(Ticket))).scalar_one()
        before = await training_examples(session)
        await actions.set_status(
            session, viewer=staff.viewer_of(user), ticket=ticket, status="resolved", ip=None
        )
    async with runtime.db.session() as session:
        after = await training_examples(session)
    assert (len(before.examples), before.unconfirmed_guesses) == (0, 1)
    assert [e.department for e in after.examples] == ["parks"] and after.unconfirmed_guesses == 0
