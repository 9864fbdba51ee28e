"""A message's ticket: the ticket it continues, or a new one — routed, compared with the
open tickets (linked, suggested or filed in the dedupe index), assigned, acknowledged."""

from __future__ import annotations

from qanat.dedupe import service as dedupe
from qanat.dedupe.index import entry_of
from qanat.dedupe.live import report_of
from qanat.dedupe.similarity import report_of_message
from qanat.model import (
    Inbound,
    Kind,
    Location,
    Normalized,
    RoutingDecision,
    TicketStatus,
)
from qanat.normalize.answers import classify_answer
from qanat.pipeline.answers import survey_answered
from qanat.pipeline.run import (
    DONE,
    DONE_VALUES,
    OPEN_VALUES,
    PIPELINE,
    Outcome,
    Result,
    Run,
    department_id_of,
    lock_places,
    message_added,
    notice_wording,
)
from qanat.router.assignment import assign_new_ticket
from qanat.router.decide import route
from qanat.router.pauses import resume_clock
from qanat.router.sla import due_times, expected_time
from qanat.store import actions, notices, queries
from qanat.store.tables import (
    Message,
    Ticket,
    search_text_of,
    utcnow,
)


async def add_to_ticket(
    run: Run,
    message: Message,
    ticket: Ticket,
    *,
    reason: str = "follow-up",
) -> Outcome:
    """The message joins the ticket it continues: an answer to "is it fixed?" is
    recorded as one; a citizen's reply opens a pending or resolved ticket again."""
    session = run.session
    assert ticket.id is not None and message.id is not None
    message.ticket_id = ticket.id
    if ticket.status in DONE_VALUES and (answer := classify_answer(message.text)).is_answer:
        # The words first: only an answer is worth the query for an open survey.
        survey = await notices.awaiting_survey(session, ticket_id=ticket.id)
        if survey is not None:
            return await survey_answered(run, message, ticket, survey, answer)
    if ticket.status in (TicketStatus.pending, TicketStatus.resolved):
        # The citizen answered: the clock runs again and staff see it in their queue.
        await queries.add_event(
            session,
            actor=PIPELINE,
            type="status_changed",
            ticket_id=ticket.id,
            data={"from": ticket.status, "to": "open", "reason": "citizen replied"},
        )
        if actions.apply_status(ticket, TicketStatus.open.value, at=message.received_at):
            await resume_clock(
                session, rules=run.rules, tz=run.settings.tz, ticket=ticket, actor=PIPELINE
            )
    ticket.updated_at = utcnow()
    await message_added(session, ticket, message, reason)
    return Outcome(message.id, Result.follow_up, ticket.id)


async def open_ticket(
    run: Run,
    message: Message,
    inbound: Inbound,
    normalized: Normalized,
    contact_id: int | None,
) -> Outcome:
    """A new ticket for the message, routed; a duplicate of an open one is linked to it
    (the same citizen's: the message joins it instead), a possible one suggested."""
    session = run.session
    assert message.id is not None
    decision = route(
        normalized,
        rules=run.rules,
        category=inbound.category,
        given_department=inbound.department,
        model=run.model,
    )
    report = report_of_message(
        normalized, decision, received_at=inbound.received_at, contact_id=contact_id
    )
    rules = run.rules.dedupe
    # The batch took this place's lock and caught the index up under it (_process_all).
    await lock_places(run, [normalized.location])
    duplicate, primary = await dedupe.find_duplicate(
        session, live=run.live, new=report, rules=rules
    )
    if primary is not None and duplicate.features.get("same_contact"):
        # The same citizen about the same problem: a follow-up, not a second ticket.
        return await add_to_ticket(run, message, primary, reason="same problem")
    ticket = await create_ticket(run, message, inbound, normalized, contact_id, decision)
    if primary is not None:
        await dedupe.link(session, ticket=ticket, primary=primary, decision=duplicate)
    else:
        if duplicate.suggested_ticket_id is not None:
            await dedupe.suggest(session, ticket=ticket, decision=duplicate)
        if history := await dedupe.find_recurrence(session, new=report, rules=rules):
            await dedupe.mark_recurring(session, ticket=ticket, history=history)
        file_in_index(run, ticket, decision)
    await message_added(session, ticket, message, "first message")
    if primary is None and not ticket.needs_triage and ticket.status == TicketStatus.new:
        # In the same transaction as the ticket: processing again assigns nothing twice.
        await assign_new_ticket(
            session,
            rules=run.rules,
            ticket=ticket,
            department=decision.department,
            now=utcnow(),
            tz=run.settings.tz,
        )
    if run.settings.notices:
        await acknowledge(run, ticket, decision, known=primary is not None)
    result = Result.duplicate if primary else Result.created
    return Outcome(message.id, result, ticket.id, noticed=run.settings.notices)


async def acknowledge(run: Run, ticket: Ticket, decision: RoutingDecision, *, known: bool) -> None:
    """Decide the citizen's acknowledgement with the new ticket (sent after the commit):
    the reference, the department and the expected time; a duplicate's reporter is told
    the problem is already known and being worked."""
    language = notices.language_of(ticket.language)
    values = {
        "what": notices.what_words(ticket.kind, language),
        "department": await notices.department_name(run.session, ticket.department_id, language),
    }
    if not known:
        expected = expected_time(
            run.rules,
            department=decision.department,
            hours=decision.sla_hours,
            continuous=decision.sla_clock == "continuous",
            tz=run.settings.tz,
        )
        values["expected"] = notices.within_words(*expected, language) if expected else ""
    quiet = notices.parse_quiet_hours(run.settings.notice_quiet_hours)
    due = notices.due_time(ticket.channel, utcnow(), quiet=quiet, tz=run.settings.tz)
    await notices.add_notice(
        run.session, ticket=ticket, kind="known" if known else "ack", values=values, due_at=due,
        wording=await notice_wording(run), opened_now=True,
    )  # fmt: skip


async def create_ticket(
    run: Run,
    message: Message,
    inbound: Inbound,
    normalized: Normalized,
    contact_id: int | None,
    decision: RoutingDecision,
) -> Ticket:
    """The ticket row with its reference, SLA clocks and place, and its ``created`` and
    ``routed`` events."""
    session, tz = run.session, run.settings.tz
    department_id = await department_id_of(run, decision.department)
    clocks = due_times(decision, run.rules, start=inbound.received_at, tz=tz)
    year = inbound.received_at.astimezone(tz).year
    status = inbound.status or TicketStatus.new
    location = normalized.location or Location()
    reference = await queries.next_reference(session, year=year, block=run.settings.reference_block)
    identities = [identity.value for identity in normalized.identities]
    ticket = Ticket(
        reference=reference,
        kind=(inbound.kind or normalized.kind or Kind.complaint).value,
        status=status.value,
        priority=decision.priority.value,
        department_id=department_id,
        contact_id=contact_id,
        channel=inbound.channel,
        language=normalized.language,
        subject=inbound.subject,
        category=decision.category or inbound.category,
        match_text=normalized.match_text,
        search_text=search_text_of(normalized.match_text, reference, identities),
        building=location.building,
        road=location.road,
        block=location.block,
        area=location.area,
        governorate=location.governorate,
        lat=location.lat,
        lon=location.lon,
        needs_triage=decision.needs_triage or department_id is None,
        flags=list(normalized.flags),
        created_at=inbound.received_at,
        updated_at=utcnow(),
        resolved_at=inbound.received_at if status in DONE else None,
        first_response_due_at=clocks.first_response_due_at,
        sla_due_at=clocks.sla_due_at,
        first_response_warn_at=clocks.first_response_warn_at,
        sla_warn_at=clocks.sla_warn_at,
    )
    session.add(ticket)
    await session.flush()
    assert ticket.id is not None
    message.ticket_id = ticket.id
    await queries.add_event(
        session,
        actor=PIPELINE,
        type="created",
        ticket_id=ticket.id,
        message_id=message.id,
        data={"reference": ticket.reference, "channel": inbound.channel, "kind": ticket.kind},
    )
    await queries.add_event(
        session,
        actor="router",
        type="routed",
        ticket_id=ticket.id,
        data=decision.model_dump(mode="json"),
    )
    return ticket


def file_in_index(run: Run, ticket: Ticket, decision: RoutingDecision) -> None:
    """A new open primary goes into the dedupe index at once, so the batch's later
    messages are compared with it (the next batch's catch-up reads it again anyway)."""
    if ticket.id is None or ticket.status not in OPEN_VALUES:
        return
    code = decision.department if ticket.department_id is not None else None
    run.live.index.put(ticket.id, entry_of(report_of(ticket, code)))
