"""``process_batch`` and ``process_message``: the one place the stages are chained.

load → normalize → thread or dedupe → route → assign → save outcome and events, in
one transaction per batch of messages (a single message is a batch of one). Running it
twice changes nothing the second time: a message that is no longer ``received`` is left
alone. The same functions run inline and under arq.

A batch is read with one statement, takes the dedupe locks of all its places at once
(in one order, so two workers' batches never wait on each other's locks), brings the
dedupe index up to date once, and commits once; its messages are processed one after
another, oldest first, so a conversation's messages keep their order and a later
message sees the tickets the earlier ones opened. A batch that fails is processed
again one message at a time, so one bad message costs the others nothing.

What it needs of the running process is the small :class:`PipelineDeps` protocol (the
store, the settings, the rules and model in force, the dedupe index); the rules and the
model are read once per batch, so a rules file saved halfway through a batch does
not change its decisions midway.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Protocol

from sqlalchemy.ext.asyncio import AsyncSession

from qanat.config import Settings
from qanat.dedupe import service as dedupe
from qanat.dedupe import threads as followups
from qanat.dedupe.index import entry_of
from qanat.dedupe.live import LiveIndex, report_of
from qanat.dedupe.similarity import report_of_message
from qanat.model import (
    OPEN_STATUSES,
    Inbound,
    Kind,
    Location,
    Normalized,
    Priority,
    ProcessingState,
    RoutingDecision,
    TicketStatus,
)
from qanat.normalize import normalize
from qanat.normalize.answers import SurveyAnswer, Verdict, classify_answer
from qanat.router.assignment import assign_new_ticket
from qanat.router.decide import route
from qanat.router.learned import LearnedRouter
from qanat.router.pauses import restart_clock, resume_clock
from qanat.router.rules import RoutingRules
from qanat.router.sla import due_times, expected_time, sla_of
from qanat.store import actions, notices, queries
from qanat.store.db import Database
from qanat.store.errors import describe, is_store_error, store_unavailable
from qanat.store.notice_tables import CitizenNotice
from qanat.store.tables import (
    Department,
    Message,
    Ticket,
    add_search_text,
    search_text_of,
    utcnow,
)

log = logging.getLogger(__name__)

#: Actor name stages use in events.
PIPELINE = "pipeline"


class PipelineDeps(Protocol):
    """What processing a message needs of the running process."""

    settings: Settings
    db: Database
    #: This process's dedupe candidate index.
    dedupe: LiveIndex

    def rules(self) -> RoutingRules:
        """The routing rules in force now."""
        ...

    def learned_model(self) -> LearnedRouter | None:
        """The learned routing model in force now, if any."""
        ...


class Result(StrEnum):
    """What processing did with a message."""

    created = "created"
    duplicate = "duplicate"
    follow_up = "follow_up"
    ignored = "ignored"
    skipped = "skipped"
    retry = "retry"
    dead_letter = "dead_letter"


class SetAside(StrEnum):
    """Why a message opens no ticket: sent by a machine, or nothing in it to work on."""

    delivery_failure = "delivery failure"
    auto_reply = "automatic reply"
    empty = "empty message"


@dataclass(frozen=True)
class Outcome:
    """What processing did with a message, for logs, the CLI and the worker."""

    message_id: int
    result: Result
    ticket_id: int | None = None
    detail: str = ""
    #: A notice to the citizen was decided with it: to send once the commit is done.
    noticed: bool = False


@dataclass(frozen=True)
class _Run:
    """One batch's processing: its transaction, and what is in force for all of it."""

    session: AsyncSession
    settings: Settings
    rules: RoutingRules
    model: LearnedRouter | None
    live: LiveIndex
    #: The dedupe lock scopes the transaction holds (all of the batch's, taken at once).
    locked: set[str] = field(default_factory=set)
    #: Who owns the batch's identities: read at once, kept current as contacts are made.
    owners: queries.IdentityOwners = field(default_factory=dict)
    #: The departments, read once per batch: held here, the session finds them by id
    #: without a query (an acknowledgement names its department).
    departments: list[Department] = field(default_factory=list)


@dataclass(frozen=True)
class _Waiting:
    """A message of the batch still ``received``: what the stages start from."""

    message: Message
    inbound: Inbound
    normalized: Normalized


async def process_message(deps: PipelineDeps, message_id: int) -> Outcome:
    """Run the stages on one saved message: a batch of one (the inline runner calls it).

    A stage that raises leaves the message ``received`` with its error until
    ``max_attempts`` tries have failed; then it is dead-lettered with the reason.
    """
    return (await process_batch(deps, [message_id]))[0]


async def process_batch(deps: PipelineDeps, message_ids: Sequence[int]) -> list[Outcome]:
    """Run the stages on saved messages in one transaction; their outcomes, in the order
    asked (the worker hands in the messages its jobs are processing at the same time).

    When the batch fails, each message is processed again in a transaction of its own,
    where a stage that raises counts a try against that message alone; when the store
    is away, every message of the batch is to be retried, no try counted.
    """
    started = time.perf_counter()
    wanted = sorted(set(message_ids))
    rules, model = deps.rules(), deps.learned_model()
    try:
        async with deps.db.writing() as session:
            run = _Run(session, deps.settings, rules, model, deps.dedupe)
            outcomes = await _process_all(run, wanted)
    except Exception as exc:
        if len(wanted) > 1 and not store_unavailable(exc):
            log.warning(
                "a batch of %s messages failed (%s); each is processed on its own",
                len(wanted),
                describe(exc) if is_store_error(exc) else type(exc).__name__,
            )
            return [(await process_batch(deps, [one]))[0] for one in message_ids]
        outcomes = {message_id: await _failed(deps, message_id, exc) for message_id in wanted}
    ms = round((time.perf_counter() - started) * 1000, 1)
    for outcome in outcomes.values():
        log.info(
            "message processed",
            extra={
                "message_id": outcome.message_id,
                "result": outcome.result,
                "ticket_id": outcome.ticket_id,
                "ms": ms,
                "batch": len(wanted),
            },
        )
    return [outcomes[message_id] for message_id in message_ids]


async def _process_all(run: _Run, message_ids: list[int]) -> dict[int, Outcome]:
    """The batch's messages, read together and processed oldest first."""
    session = run.session
    found = await queries.load_messages_for_update(session, message_ids=message_ids)
    outcomes: dict[int, Outcome] = {}
    waiting: list[_Waiting] = []
    for message_id in message_ids:
        message = found.get(message_id)
        if message is None:
            outcomes[message_id] = Outcome(message_id, Result.skipped, detail="no such message")
        elif message.state != ProcessingState.received:
            detail = f"already {message.state}"
            outcomes[message_id] = Outcome(
                message_id, Result.skipped, message.ticket_id, detail=detail
            )
        else:
            inbound = queries.inbound_of(message)
            normalized = normalize(inbound, region=run.settings.default_region)
            waiting.append(_Waiting(message, inbound, normalized))
    if waiting:
        identities = [i for item in waiting for i in item.normalized.identities]
        run.owners.update(await queries.identity_owners(session, identities=identities))
        run.departments.extend(await queries.departments(session))
        await run.live.ready(session)  # a first load, outside the locks
        await _lock_places(run, [item.normalized.location for item in waiting])
        # Under the locks: what other workers committed in these places is read once.
        await run.live.catch_up(session)
    for item in waiting:
        assert item.message.id is not None
        outcomes[item.message.id] = await _process(run, item)
    return outcomes


async def _lock_places(run: _Run, locations: Sequence[Location | None]) -> None:
    """Take the dedupe locks of the batch's places not held yet, in one statement and in
    one order (two workers taking them in different orders would wait on each other)."""
    scopes = {dedupe.lock_scope(location) for location in locations} - run.locked
    await dedupe.lock_scopes(run.session, scopes=scopes)
    run.locked.update(scopes)


async def _process(run: _Run, item: _Waiting) -> Outcome:
    session = run.session
    message, inbound, normalized = item.message, item.inbound, item.normalized
    # No query here reads what this message changes, so nothing is written before the
    # commit but the new contact and ticket (their ids are needed): the message's row is
    # updated once and its events inserted together, not at every query.
    with session.no_autoflush:
        contact_id, new_contact = await queries.identify_contact(
            session,
            identities=normalized.identities,
            display_name=inbound.sender.name,
            known=run.owners,
        )
        ticket = await followups.find_thread(
            session,
            inbound=inbound,
            normalized=normalized,
            contact_id=contact_id,
            same_sender_window=timedelta(hours=run.settings.sms_followup_hours),
            new_contact=new_contact,
        )
        outcome = await _stages(run, message, inbound, normalized, contact_id, ticket)
    message.contact_id = contact_id  # after the ticket's flush, so the row is written once
    return outcome


async def _stages(
    run: _Run,
    message: Message,
    inbound: Inbound,
    normalized: Normalized,
    contact_id: int | None,
    ticket: Ticket | None,
) -> Outcome:
    """Set aside, add to ``ticket`` (the thread it continues) or open a new ticket."""
    reason = _set_aside_reason(inbound, normalized)
    answer = classify_answer(inbound.text or "")
    if reason == SetAside.empty and ticket is not None and answer.is_answer:
        reason = None  # "✅", "👍": no words, but an answer to "is it fixed?"
    if reason is not None:
        return await _set_aside(run.session, message, ticket, normalized, reason)
    if answer.verdict == Verdict.stop:
        return await _opt_out(run.session, message, ticket, normalized)
    if ticket is not None:
        outcome = await _add_to_ticket(run, message, ticket)
        add_search_text(ticket, normalized.match_text)
    else:
        outcome = await _open_ticket(run, message, inbound, normalized, contact_id)
    _mark_processed(message, normalized)
    return outcome


def _set_aside_reason(inbound: Inbound, normalized: Normalized) -> SetAside | None:
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


async def _set_aside(
    session: AsyncSession,
    message: Message,
    ticket: Ticket | None,
    normalized: Normalized,
    reason: SetAside,
) -> Outcome:
    """Keep a message that opens no ticket: a bounce or auto-reply joins its ticket's
    timeline as an event; an empty message is dead-lettered for staff to look at."""
    assert message.id is not None
    _mark_processed(message, normalized)
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


def _mark_processed(message: Message, normalized: Normalized) -> None:
    message.state = ProcessingState.processed
    message.state_reason = None
    message.processed_at = utcnow()
    message.match_text = normalized.match_text
    message.language = normalized.language
    message.normalized = normalized.model_dump(mode="json", exclude={"match_text"})


async def _opt_out(
    session: AsyncSession, message: Message, ticket: Ticket | None, normalized: Normalized
) -> Outcome:
    """STOP / إيقاف: no more notices to this address; the message is kept, no ticket."""
    assert message.id is not None
    _mark_processed(message, normalized)
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


async def _add_to_ticket(
    run: _Run,
    message: Message,
    ticket: Ticket,
    *,
    reason: str = "follow-up",
) -> Outcome:
    session = run.session
    assert ticket.id is not None and message.id is not None
    message.ticket_id = ticket.id
    if ticket.status in _DONE_VALUES and (answer := classify_answer(message.text)).is_answer:
        # The words first: only an answer is worth the query for an open survey.
        survey = await notices.awaiting_survey(session, ticket_id=ticket.id)
        if survey is not None:
            return await _survey_answered(run, message, ticket, survey, answer)
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
    await _message_added(session, ticket, message, reason)
    return Outcome(message.id, Result.follow_up, ticket.id)


async def _message_added(
    session: AsyncSession, ticket: Ticket, message: Message, reason: str
) -> None:
    """The timeline's record that ``message`` joined ``ticket``, and why."""
    await queries.add_event(
        session,
        actor=PIPELINE,
        type="message_added",
        ticket_id=ticket.id,
        message_id=message.id,
        data={"channel": message.channel, "reason": reason},
    )


async def _open_ticket(
    run: _Run,
    message: Message,
    inbound: Inbound,
    normalized: Normalized,
    contact_id: int | None,
) -> Outcome:
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
    await _lock_places(run, [normalized.location])
    duplicate, primary = await dedupe.find_duplicate(
        session, live=run.live, new=report, rules=rules, caught_up=True
    )
    if primary is not None and duplicate.features.get("same_contact"):
        # The same citizen about the same problem: a follow-up, not a second ticket.
        return await _add_to_ticket(run, message, primary, reason="same problem")
    ticket = await _create_ticket(run, message, inbound, normalized, contact_id, decision)
    if primary is not None:
        await dedupe.link(session, ticket=ticket, primary=primary, decision=duplicate)
    else:
        if duplicate.suggested_ticket_id is not None:
            await dedupe.suggest(session, ticket=ticket, decision=duplicate)
        if history := await dedupe.find_recurrence(session, new=report, rules=rules):
            await dedupe.mark_recurring(session, ticket=ticket, history=history)
        _file_in_index(run, ticket, decision)
    await _message_added(session, ticket, message, "first message")
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
        await _acknowledge(run, ticket, decision, known=primary is not None)
    result = Result.duplicate if primary else Result.created
    return Outcome(message.id, result, ticket.id, noticed=run.settings.notices)


async def _acknowledge(
    run: _Run, ticket: Ticket, decision: RoutingDecision, *, known: bool
) -> None:
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
        run.session, ticket=ticket, kind="known" if known else "ack", values=values, due_at=due
    )


async def _create_ticket(
    run: _Run,
    message: Message,
    inbound: Inbound,
    normalized: Normalized,
    contact_id: int | None,
    decision: RoutingDecision,
) -> Ticket:
    session, tz = run.session, run.settings.tz
    department_id = await queries.department_id(session, decision.department)
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
        resolved_at=inbound.received_at if status in _DONE else None,
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


_DONE = (TicketStatus.resolved, TicketStatus.closed)
_DONE_VALUES = frozenset(status.value for status in _DONE)
_OPEN_VALUES = frozenset(status.value for status in OPEN_STATUSES)


def _file_in_index(run: _Run, ticket: Ticket, decision: RoutingDecision) -> None:
    """A new open primary goes into the dedupe index at once, so the batch's later
    messages are compared with it (the next batch's catch-up reads it again anyway)."""
    if ticket.id is None or ticket.status not in _OPEN_VALUES:
        return
    code = decision.department if ticket.department_id is not None else None
    run.live.index.put(ticket.id, entry_of(report_of(ticket, code)))


async def _survey_answered(
    run: _Run, message: Message, ticket: Ticket, survey: CitizenNotice, answer: SurveyAnswer
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
    await _message_added(session, ticket, message, "survey answer")
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
                session, ticket=ticket, kind="thanks", values={}, key=f"thanks:{survey.key}"
            )
        return Outcome(message.id, Result.follow_up, ticket.id, "satisfaction recorded",
                       noticed=run.settings.notices)  # fmt: skip
    await _reopen(run, ticket, words, "the citizen says it is not fixed", at=now)
    if ticket.primary_ticket_id is not None:
        primary = await session.get(Ticket, ticket.primary_ticket_id)
        if primary is not None and primary.status in _DONE_VALUES:
            reason = f"{ticket.reference}: a reporter says it is not fixed"
            await _reopen(run, primary, words, reason, at=now)
    if run.settings.notices:
        language = notices.language_of(ticket.language)
        values = {
            "department": await notices.department_name(session, ticket.department_id, language),
            "expected": await _expected_words(run, ticket, language),
        }
        await notices.add_notice(
            session, ticket=ticket, kind="reopened", values=values, key=f"reopened:{survey.key}"
        )
    return Outcome(message.id, Result.follow_up, ticket.id, "reopened by the citizen",
                   noticed=run.settings.notices)  # fmt: skip


async def _expected_words(run: _Run, ticket: Ticket, language: str) -> str:
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


async def _reopen(run: _Run, ticket: Ticket, words: str, reason: str, *, at: datetime) -> None:
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


async def _failed(deps: PipelineDeps, message_id: int, exc: Exception) -> Outcome:
    """What a failure means: the store away is no fault of the message's (retried, no try
    counted); anything else counts a try. A failure to record that is retried too."""
    if store_unavailable(exc):
        log.warning("message %s waits: the store is unavailable (%s)", message_id, describe(exc))
        return Outcome(message_id, Result.retry, detail="the store is unavailable")
    log.error("processing message %s failed", message_id, exc_info=exc)
    try:
        return await _record_failure(deps, message_id, exc)
    except Exception as again:
        log.warning(
            "message %s: its failure could not be recorded (%s)", message_id, describe(again)
        )
        return Outcome(message_id, Result.retry, detail="the failure could not be recorded")


async def _record_failure(deps: PipelineDeps, message_id: int, exc: Exception) -> Outcome:
    reason = (describe(exc) if is_store_error(exc) else f"{type(exc).__name__}: {exc}")[:2000]
    async with deps.db.writing() as session:
        message = await queries.load_message_for_update(session, message_id=message_id)
        if message is None:
            return Outcome(message_id, Result.skipped, detail="no such message")
        message.attempts += 1
        message.state_reason = reason
        if message.attempts < deps.settings.max_attempts:
            return Outcome(message_id, Result.retry, detail=reason)
        message.state = ProcessingState.dead_letter
        await queries.add_event(
            session,
            actor=PIPELINE,
            type="dead_lettered",
            message_id=message_id,
            data={"reason": reason, "attempts": message.attempts},
        )
    return Outcome(message_id, Result.dead_letter, detail=reason)
