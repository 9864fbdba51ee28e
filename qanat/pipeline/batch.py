"""The batch: its messages read together, their places locked at once, each message taken
through the stages oldest first, one commit — and a failed batch redone message by message
(see :mod:`qanat.pipeline`)."""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from datetime import timedelta

from qanat.dedupe import threads as followups
from qanat.model import (
    Inbound,
    Normalized,
    ProcessingState,
)
from qanat.normalize import normalize
from qanat.normalize.answers import Verdict, classify_answer
from qanat.pipeline.answers import opt_out, set_aside, set_aside_reason
from qanat.pipeline.run import (
    PIPELINE,
    Outcome,
    PipelineDeps,
    Result,
    Run,
    SetAside,
    Waiting,
    lock_places,
    mark_processed,
)
from qanat.pipeline.tickets import add_to_ticket, open_ticket
from qanat.store import queries
from qanat.store.errors import describe, is_store_error, store_unavailable
from qanat.store.tables import (
    Message,
    Ticket,
    add_search_text,
)

log = logging.getLogger(__name__)


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
            run = Run(session, deps.settings, rules, model, deps.dedupe)
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


async def _process_all(run: Run, message_ids: list[int]) -> dict[int, Outcome]:
    """The batch's messages, read together and processed oldest first."""
    session = run.session
    found = await queries.load_messages_for_update(session, message_ids=message_ids)
    outcomes: dict[int, Outcome] = {}
    waiting: list[Waiting] = []
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
            waiting.append(Waiting(message, inbound, normalized))
    if waiting:
        identities = [i for item in waiting for i in item.normalized.identities]
        run.owners.update(await queries.identity_owners(session, identities=identities))
        run.departments.extend(await queries.departments(session))
        await run.live.ready(session)  # a first load, outside the locks
        await lock_places(run, [item.normalized.location for item in waiting])
        # Under the locks: what other workers committed in these places is read once.
        await run.live.catch_up(session)
    for item in waiting:
        assert item.message.id is not None
        outcomes[item.message.id] = await _process(run, item)
    return outcomes


async def _process(run: Run, item: Waiting) -> Outcome:
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
    run: Run,
    message: Message,
    inbound: Inbound,
    normalized: Normalized,
    contact_id: int | None,
    ticket: Ticket | None,
) -> Outcome:
    """Set aside, add to ``ticket`` (the thread it continues) or open a new ticket."""
    reason = set_aside_reason(inbound, normalized)
    answer = classify_answer(inbound.text or "")
    if reason == SetAside.empty and ticket is not None and answer.is_answer:
        reason = None  # "✅", "👍": no words, but an answer to "is it fixed?"
    if reason is not None:
        return await set_aside(run.session, message, ticket, normalized, reason)
    if answer.verdict == Verdict.stop:
        return await opt_out(run.session, message, ticket, normalized)
    if ticket is not None:
        outcome = await add_to_ticket(run, message, ticket)
        add_search_text(ticket, normalized.match_text)
    else:
        outcome = await open_ticket(run, message, inbound, normalized, contact_id)
    mark_processed(message, normalized)
    return outcome


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
