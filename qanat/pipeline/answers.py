"""Messages that open no ticket, and citizens' answers: a bounce, an automatic reply or an
empty message set aside; STOP; the answer to "is it fixed?" — satisfaction recorded, or
the ticket reopened with the resolution SLA counted again."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from qanat.model import (
    Inbound,
    Kind,
    Normalized,
    Priority,
    ProcessingState,
    TicketStatus,
)
from qanat.normalize.answers import SurveyAnswer, Verdict
from qanat.pipeline.run import (
    DONE_VALUES,
    PIPELINE,
    Outcome,
    Result,
    Run,
    SetAside,
    mark_processed,
    message_added,
    notice_wording,
)
from qanat.router.pauses import restart_clock
from qanat.router.sla import expected_time, sla_of
from qanat.store import actions, notices, queries
from qanat.store.notice_tables import CitizenNotice
from qanat.store.tables import (
    Department,
    Message,
    Ticket,
    utcnow,
)


def set_aside_reason(inbound: Inbound, normalized: Normalized) -> SetAside | None:
    """Why a message opens no ticket (a bounce, an out-of-office, nothing in it), if so."""
    if inbound.metadata.get("bounce"):
        return SetAside.delivery_failure
    if inbound.metadata.get("auto_reply"):
        return SetAside.auto_reply
    if not (normalized.match_text or inbound.attachments or inbound.location):
        return SetAside.empty
    return None


#: The event a machine's message leaves on the ticket it answers.
_MACHINE_EVENTS = {SetAside.delivery_failure: "delivery_failed", SetAside.auto_reply: "auto_reply"}


async def set_aside(
    session: AsyncSession,
    message: Message,
    ticket: Ticket | None,
    normalized: Normalized,
    reason: SetAside,
) -> Outcome:
    """Keep a message that opens no ticket: a bounce or auto-reply joins its ticket's
    timeline as an event; an empty message is dead-lettered for staff to look at."""
    assert message.id is not None
    mark_processed(message, normalized)
    if reason == SetAside.empty:
        message.state = ProcessingState.dead_letter
        message.state_reason = "empty message: no text, file or place"
        await queries.add_event(
            session,
            actor=PIPELINE,
            type="dead_lettered",
            message_id=message.id,
            data={"reason": message.state_reason},
        )
        return Outcome(message.id, Result.dead_letter, detail=message.state_reason)
    message.state, message.state_reason = ProcessingState.ignored, reason.value
    if ticket is not None:
        message.ticket_id = ticket.id
        await queries.add_event(
            session,
            actor=PIPELINE,
            type=_MACHINE_EVENTS[reason],
            ticket_id=ticket.id,
            message_id=message.id,
            data={"reason": reason.value},
        )
    return Outcome(message.id, Result.ignored, ticket.id if ticket else None, detail=reason.value)


async def opt_out(
    session: AsyncSession, message: Message, ticket: Ticket | None, normalized: Normalized
) -> Outcome:
    """STOP / إيقاف: no more notices to this address; the message is kept, no ticket."""
    assert message.id is not None
    mark_processed(message, normalized)
    await notices.opt_out(session, channel=message.channel, address=notices.address_of(message))
    message.state, message.state_reason = ProcessingState.ignored, "asked for no more notices"
    message.ticket_id = ticket.id if ticket else None
    await queries.add_event(
        session,
        actor=PIPELINE,
        type="opted_out",
        ticket_id=ticket.id if ticket else None,
        message_id=message.id,
        data={"channel": message.channel},
    )
    return Outcome(message.id, Result.ignored, ticket.id if ticket else None, "opted out")


async def survey_answered(
    run: Run, message: Message, ticket: Ticket, survey: CitizenNotice, answer: SurveyAnswer
) -> Outcome:
    """The citizen answered "is it fixed?": satisfaction recorded; a "no" reopens the
    ticket (and its primary, when the cluster was resolved) with their words on the
    timeline and the resolution SLA counted again from now."""
    session = run.session
    assert ticket.id is not None and message.id is not None
    words = message.text[:2000]
    now = utcnow()
    survey.answered_at, survey.answer_text, survey.score = now, words, answer.score
    survey.satisfied = answer.verdict == Verdict.positive
    session.add(survey)
    await message_added(session, ticket, message, "survey answer")
    await queries.add_event(
        session,
        actor=PIPELINE,
        type="survey_answered",
        ticket_id=ticket.id,
        message_id=message.id,
        data={"verdict": answer.verdict.value, "score": answer.score, "words": words},
    )
    ticket.updated_at = now
    if answer.verdict != Verdict.negative:
        if run.settings.notices:
            await notices.add_notice(
                session, ticket=ticket, kind="thanks", values={}, key=f"thanks:{survey.key}",
                wording=await notice_wording(run),
            )  # fmt: skip
        return Outcome(message.id, Result.follow_up, ticket.id, "satisfaction recorded",
                       noticed=run.settings.notices)  # fmt: skip
    await reopen(run, ticket, words, "the citizen says it is not fixed", at=now)
    if ticket.primary_ticket_id is not None:
        primary = await session.get(Ticket, ticket.primary_ticket_id)
        if primary is not None and primary.status in DONE_VALUES:
            reason = f"{ticket.reference}: a reporter says it is not fixed"
            await reopen(run, primary, words, reason, at=now)
    if run.settings.notices:
        language = notices.language_of(ticket.language)
        values = {
            "department": await notices.department_name(session, ticket.department_id, language),
            "expected": await expected_words(run, ticket, language),
        }
        await notices.add_notice(
            session, ticket=ticket, kind="reopened", values=values, key=f"reopened:{survey.key}",
            wording=await notice_wording(run),
        )  # fmt: skip
    return Outcome(message.id, Result.follow_up, ticket.id, "reopened by the citizen",
                   noticed=run.settings.notices)  # fmt: skip


async def expected_words(run: Run, ticket: Ticket, language: str) -> str:
    """The ticket's resolution SLA in the citizen's words ("within 2 working days")."""
    department = (
        await run.session.get(Department, ticket.department_id) if ticket.department_id else None
    )
    if department is None:
        return ""
    try:
        row = sla_of(run.rules, department.code, Kind(ticket.kind), Priority(ticket.priority))
    except ValueError:  # a kind or priority the rules do not know
        return ""
    if row is None:
        return ""
    expected = expected_time(
        run.rules,
        department=department.code,
        hours=row.resolution_hours,
        continuous=row.clock == "continuous",
        tz=run.settings.tz,
    )
    return notices.within_words(*expected, language) if expected else ""


async def reopen(run: Run, ticket: Ticket, words: str, reason: str, *, at: datetime) -> None:
    """Open a resolved ticket again, the citizen's words on its timeline, its SLA anew."""
    await queries.add_event(
        run.session,
        actor=PIPELINE,
        type="status_changed",
        ticket_id=ticket.id,
        data={"from": ticket.status, "to": "open", "reason": reason, "words": words},
    )
    actions.apply_status(ticket, TicketStatus.open.value, at=at)
    ticket.updated_at = at
    await restart_clock(
        run.session, rules=run.rules, tz=run.settings.tz, ticket=ticket, actor=PIPELINE, at=at,
        reason="reopened: " + reason,
    )  # fmt: skip
    run.session.add(ticket)
