"""A possible duplicate on the ticket page: staff link it in one step or say it is another
problem, in Arabic and in English, and their answer is kept."""

from __future__ import annotations

from sqlmodel import col, select

from qanat.dedupe import service
from qanat.model import DuplicateDecision
from qanat.runtime import Runtime
from qanat.store.tables import AuditEntry, Event, Ticket
from tests.web.conftest import Login

JSON = {"Accept": "application/json"}


async def ticket(runtime: Runtime, reference: str) -> Ticket:
    async with runtime.db.session() as session:
        found = await session.execute(select(Ticket).where(col(Ticket.reference) == reference))
        return found.scalar_one()


async def suggest(runtime: Runtime, reference: str, other: str) -> None:
    """What the pipeline records when a score lands in the suggestion band."""
    async with runtime.db.writing() as session:
        new = (
            await session.execute(select(Ticket).where(col(Ticket.reference) == reference))
        ).scalar_one()
        primary = (
            await session.execute(select(Ticket).where(col(Ticket.reference) == other))
        ).scalar_one()
        decision = DuplicateDecision(
            primary_ticket_id=None,
            suggested_ticket_id=primary.id,
            score=48.5,
            threshold=55,
            features={"text": 31.0, "same_block": True, "where": "block", "work": "same",
                      "same_category": True, "hours_apart": 20.0},
        )  # fmt: skip
        await service.suggest(session, ticket=new, decision=decision)


async def test_the_page_names_the_possible_duplicate_in_both_languages(
    seeded: Runtime, login: Login
) -> None:
    await suggest(seeded, "QN-2026-000006", "QN-2026-000001")
    agent = await login("agent_sewage")
    arabic = await agent.get("/tickets/QN-2026-000006")
    assert arabic.status_code == 200
    assert 'id="suggestion"' in arabic.text and "قد تكون المشكلة نفسها في" in arabic.text
    assert "QN-2026-000001" in arabic.text and "مشكلة أخرى" in arabic.text
    await agent.post("/account/language", data={"language": "en", "next": "/inbox"})
    english = await agent.get("/tickets/QN-2026-000006")
    assert "Possibly the same problem as" in english.text and "Another problem" in english.text


async def test_another_problem_clears_the_flag_and_is_kept_as_an_answer(
    seeded: Runtime, login: Login
) -> None:
    await suggest(seeded, "QN-2026-000006", "QN-2026-000001")
    assert "possible_duplicate" in (await ticket(seeded, "QN-2026-000006")).flags
    agent = await login("agent_sewage")
    response = await agent.post("/tickets/QN-2026-000006/suggestion/dismiss", headers=JSON)
    assert response.status_code == 200
    after = await ticket(seeded, "QN-2026-000006")
    assert "possible_duplicate" not in after.flags and after.primary_ticket_id is None
    async with seeded.db.session() as session:
        answered = (
            await session.execute(
                select(Event.data).where(col(Event.type) == "suggestion_dismissed")
            )
        ).scalar_one()
        audited = (await session.execute(select(AuditEntry.action))).scalars().all()
    assert answered == {"primary_reference": "QN-2026-000001"}
    assert "suggestion_dismissed" in audited
    page = await agent.get("/tickets/QN-2026-000006")
    assert 'id="suggestion"' not in page.text
    again = await agent.post("/tickets/QN-2026-000006/suggestion/dismiss", headers=JSON)
    assert again.status_code == 422  # nothing left to answer: refused beside the form


async def test_linking_from_the_suggestion_answers_it(seeded: Runtime, login: Login) -> None:
    await suggest(seeded, "QN-2026-000006", "QN-2026-000001")
    agent = await login("agent_sewage")
    response = await agent.post(
        "/tickets/QN-2026-000006/link",
        data={"primary_reference": "QN-2026-000001"},
        headers=JSON,
    )
    assert response.status_code == 200
    after = await ticket(seeded, "QN-2026-000006")
    primary = await ticket(seeded, "QN-2026-000001")
    assert after.primary_ticket_id == (primary.primary_ticket_id or primary.id)
    assert "possible_duplicate" not in after.flags


async def test_the_answer_is_a_labelled_pair_for_calibration(seeded: Runtime, login: Login) -> None:
    await suggest(seeded, "QN-2026-000006", "QN-2026-000001")
    agent = await login("agent_sewage")
    await agent.post("/tickets/QN-2026-000006/suggestion/dismiss", headers=JSON)
    async with seeded.db.session() as session:
        pairs = await service.correction_pairs(session)
    [pair] = pairs
    assert pair["label"] == 0
    assert (pair["reference_a"], pair["reference_b"]) == ("QN-2026-000001", "QN-2026-000006")
