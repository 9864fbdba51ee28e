"""What a batch's processing holds and reports: what it needs of the running process
(:class:`PipelineDeps`), the batch's transaction and what is in force for it (:class:`Run`),
what became of each message (:class:`Outcome`), and the records every stage writes."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Protocol

from sqlalchemy.ext.asyncio import AsyncSession

from qanat.config import Settings
from qanat.dedupe import service as dedupe
from qanat.dedupe.live import LiveIndex
from qanat.model import (
    OPEN_STATUSES,
    Inbound,
    Location,
    Normalized,
    ProcessingState,
    TicketStatus,
)
from qanat.router.learned import LearnedRouter
from qanat.router.rules import RoutingRules
from qanat.store import notices, queries
from qanat.store.db import Database
from qanat.store.tables import (
    Department,
    Message,
    Ticket,
    utcnow,
)

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
class Run:
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
    #: The notices' wording in force, by kind then language: read by the batch's first
    #: notice (:func:`notice_wording`), not once a notice.
    wording: dict[str, dict[str, str]] = field(default_factory=dict)


async def department_id_of(run: Run, code: str | None) -> int | None:
    """The id of department ``code`` among the batch's departments (read again once when
    it is not there: another process may have just added it)."""
    if code is None:
        return None
    for again in (False, True):
        if again:
            run.departments[:] = await queries.departments(run.session)
        found = next((d.id for d in run.departments if d.code == code), None)
        if found is not None:
            return found
    return None


async def notice_wording(run: Run) -> dict[str, dict[str, str]]:
    """The notices' wording in force for this batch (one query, at its first notice)."""
    if not run.wording:
        run.wording.update(await notices.templates(run.session))
    return run.wording


@dataclass(frozen=True)
class Waiting:
    """A message of the batch still ``received``: what the stages start from."""

    message: Message
    inbound: Inbound
    normalized: Normalized


async def lock_places(run: Run, locations: Sequence[Location | None]) -> None:
    """Take the dedupe locks of the batch's places not held yet, in one statement and in
    one order (two workers taking them in different orders would wait on each other)."""
    scopes = {dedupe.lock_scope(location) for location in locations} - run.locked
    await dedupe.lock_scopes(run.session, scopes=scopes)
    run.locked.update(scopes)


def mark_processed(message: Message, normalized: Normalized) -> None:
    """Record on ``message`` that the stages ran: its match form, language and reading."""
    message.state = ProcessingState.processed
    message.state_reason = None
    message.processed_at = utcnow()
    message.match_text = normalized.match_text
    message.language = normalized.language
    message.normalized = normalized.model_dump(mode="json", exclude={"match_text"})


async def message_added(
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


DONE = (TicketStatus.resolved, TicketStatus.closed)


DONE_VALUES = frozenset(status.value for status in DONE)


OPEN_VALUES = frozenset(status.value for status in OPEN_STATUSES)
