"""Dedupe against the store: the lock, the decision, linking and unlinking, recurrences, sweep.

A decision reads candidates from the worker's in-memory index (:mod:`qanat.dedupe.index`,
kept current by :mod:`qanat.dedupe.live`), never by scanning open tickets, and is taken
under a lock per block so two workers never both open a primary for the same problem.
The winner is read back from the store before it is linked.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, or_, text
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from qanat.dedupe.index import CandidateIndex, entry_of
from qanat.dedupe.live import LiveIndex, load_index, report_of
from qanat.dedupe.pair_model import PairModel
from qanat.dedupe.rules import DedupeRules
from qanat.dedupe.similarity import Report, combined_score, features
from qanat.model import OPEN_STATUSES, DuplicateDecision, Location, TicketStatus
from qanat.store import links, queries
from qanat.store.tables import Department, Event, Ticket

#: How many winners are checked against the store before giving up (the sweep retries).
CHECKS = 3
#: At most this many earlier tickets are named in a recurrence.
RECURRENCE_LIMIT = 20
_OPEN = [s.value for s in OPEN_STATUSES]


def lock_scope(location: Location | None) -> str:
    """What two concurrent decisions must not both decide at once: one place's tickets."""
    block = location.block if location and location.block else "-"
    return f"dedupe:block:{block}"


async def lock_scopes(session: AsyncSession, *, scopes: Iterable[str]) -> None:
    """Hold the dedupe locks of these places (:func:`lock_scope`) until the transaction
    ends, taken in one statement and in the order of their keys.

    PostgreSQL: transaction-level advisory locks, so two workers on two machines never
    both open a primary for the same problem; one order for every worker, so two
    batches that share places wait for each other instead of deadlocking. SQLite:
    writes are already serialized by :meth:`qanat.store.db.Database.writing`, which
    qanat uses in one process only.
    """
    keys = sorted({queries.advisory_key(scope) for scope in scopes})
    if not keys or session.get_bind().dialect.name != "postgresql":
        return
    # A subquery in key order: the locks are taken one by one as its rows come.
    statement = text(
        "SELECT count(pg_advisory_xact_lock(key)) FROM "
        "(SELECT unnest(CAST(:keys AS bigint[])) AS key ORDER BY 1) AS ordered"
    )
    await session.execute(statement, {"keys": keys})


async def _primary_row(session: AsyncSession, ticket_id: int) -> tuple[Ticket, str | None] | None:
    """The ticket as the store has it now, with its department's code."""
    statement = (
        select(Ticket, Department.code)
        .outerjoin(Department, col(Department.id) == col(Ticket.department_id))
        .where(col(Ticket.id) == ticket_id)
        .execution_options(populate_existing=True)
    )
    found = (await session.execute(statement)).first()
    return None if found is None else (found[0], found[1])


async def best_primary(
    session: AsyncSession,
    index: CandidateIndex,
    *,
    new: Report,
    rules: DedupeRules,
    exclude: int | None = None,
    model: PairModel | None = None,
) -> tuple[DuplicateDecision, Ticket | None]:
    """The index's best open primary for ``new``, checked against the store.

    The index proposes; the store decides: a winner that is no longer an open primary
    (or no longer scores enough) is corrected in the index and the next best is tried.
    A winner under the link threshold but at or above the suggestion threshold comes
    back as a suggestion (``suggested_ticket_id``), with no ticket to link to.
    """
    category = new.category
    threshold, window = rules.threshold_for(category, model), rules.window_for(category)
    floor, radius = rules.suggest_for(category, model), rules.radius_for(category)
    for _attempt in range(CHECKS):
        match = index.best_match(
            new, threshold=floor, window=window, exclude=exclude, radius=radius, model=model
        )
        if match is None:
            break
        found = await _primary_row(session, match.ticket_id)
        if found is None or found[0].primary_ticket_id is not None or found[0].status not in _OPEN:
            index.discard(match.ticket_id)
            continue
        primary, code = found
        evidence = features(new, report_of(primary, code), radius)
        score = combined_score(evidence, model)
        if score >= threshold:
            decision = DuplicateDecision(
                primary_ticket_id=primary.id, score=score, threshold=threshold, features=evidence
            )
            return decision, primary
        if score >= floor:
            decision = DuplicateDecision(
                primary_ticket_id=None,
                suggested_ticket_id=primary.id,
                score=score,
                threshold=threshold,
                features=evidence,
            )
            return decision, None
        index.put(match.ticket_id, entry_of(report_of(primary, code)))
    return DuplicateDecision(primary_ticket_id=None, threshold=threshold), None


async def find_duplicate(
    session: AsyncSession,
    *,
    live: LiveIndex,
    new: Report,
    rules: DedupeRules,
) -> tuple[DuplicateDecision, Ticket | None]:
    """The open primary ticket this report repeats, with the evidence, or none.

    Call it holding the place's lock (:func:`lock_scopes`), the index caught up after
    the lock was taken (:meth:`LiveIndex.catch_up`: what other workers committed since it
    last looked), so the decision sees all of the block's tickets.
    """
    model = live.model_file.current()
    return await best_primary(session, live.index, new=new, rules=rules, model=model)


#: Resolved primaries of one block and category within a time span, newest first: built
#: once (building a statement per message cost more than running it).
_RECURRENCES = (
    select(Ticket)
    .where(
        col(Ticket.block) == bindparam("block"),  # the block index keeps this narrow
        col(Ticket.category) == bindparam("category"),
        col(Ticket.primary_ticket_id).is_(None),
        col(Ticket.status).in_([TicketStatus.resolved.value, TicketStatus.closed.value]),
        col(Ticket.created_at) >= bindparam("since"),
        col(Ticket.created_at) <= bindparam("until"),
    )
    .order_by(col(Ticket.created_at).desc())
    .limit(RECURRENCE_LIMIT)
)


async def find_recurrence(
    session: AsyncSession, *, new: Report, rules: DedupeRules
) -> list[Ticket]:
    """Resolved tickets of the same place and category, recently: the problem is back."""
    if not (new.block and new.category):
        return []
    since = new.created_at - rules.recurrence_window
    found = {"block": new.block, "category": new.category, "since": since, "until": new.created_at}
    history = (await session.execute(_RECURRENCES, found)).scalars()
    return [t for t in history if new.road is None or t.road in (None, new.road)]


async def link(
    session: AsyncSession,
    *,
    ticket: Ticket,
    primary: Ticket,
    decision: DuplicateDecision,
    by: str = "dedupe",
) -> None:
    """Link ``ticket`` to ``primary`` with the decision's evidence (score, threshold,
    features): the one :func:`qanat.store.links.link` staff use too."""
    evidence = decision.model_dump(mode="json", exclude={"primary_ticket_id"})
    await links.link(session, ticket=ticket, primary=primary, by=by, evidence=evidence)


async def suggest(session: AsyncSession, *, ticket: Ticket, decision: DuplicateDecision) -> None:
    """Record that ``ticket`` may repeat the suggested open ticket: staff decide.

    The ticket stays on its own (a wrong link would hide a citizen's problem on someone
    else's ticket); it is flagged ``possible_duplicate`` and its timeline names the other
    ticket with the evidence, so staff link it in one step or leave it.
    """
    if decision.suggested_ticket_id is None:
        return
    other = await session.get(Ticket, decision.suggested_ticket_id)
    if other is None:
        return
    links.flag_suggestion(ticket, True)
    evidence = decision.model_dump(
        mode="json", exclude={"primary_ticket_id", "suggested_ticket_id"}
    )
    await queries.add_event(
        session,
        actor="dedupe",
        type="duplicate_suggested",
        ticket_id=ticket.id,
        data={"primary_reference": other.reference, **evidence},
    )


async def correction_pairs(session: AsyncSession) -> list[dict[str, Any]]:
    """Staff corrections as labelled pairs (``qanat dedupe pairs``), oldest first.

    A duplicate linked by hand is a pair labelled 1, an unlinked one or a suggestion
    staff called another problem a pair labelled 0; when staff changed their mind, the
    latest word on a pair counts. Texts are the
    tickets' match forms (phone numbers and addresses already masked); place, category
    and time go along, so ``qanat dedupe calibrate`` scores the pair as it was decided.
    """
    statement = (
        select(Event.ticket_id, Event.type, Event.data)
        .where(
            col(Event.type).in_(["linked_duplicate", "unlinked_duplicate", "suggestion_dismissed"]),
            or_(col(Event.actor).startswith("staff:"), col(Event.actor).startswith("token:")),
        )
        .order_by(col(Event.id))
    )
    labels: dict[tuple[int, str], int] = {}
    for ticket_id, kind, data in await session.execute(statement):
        if ticket_id is not None and data.get("primary_reference"):
            key = (ticket_id, data["primary_reference"])
            labels.pop(key, None)  # re-inserted: the pair moves to its latest correction
            labels[key] = 1 if kind == "linked_duplicate" else 0
    wanted = select(Ticket).where(
        or_(
            col(Ticket.id).in_({t for t, _r in labels}),
            col(Ticket.reference).in_({r for _t, r in labels}),
        )
    )
    tickets = list((await session.execute(wanted)).scalars())
    by_id = {t.id: t for t in tickets}
    by_reference = {t.reference: t for t in tickets}
    return [
        _pair(by_reference[reference], by_id[ticket_id], label)
        for (ticket_id, reference), label in labels.items()
        if reference in by_reference and ticket_id in by_id
    ]


def _pair(primary: Ticket, duplicate: Ticket, label: int) -> dict[str, Any]:
    def place(ticket: Ticket) -> dict[str, Any] | None:
        parts = {
            "block": ticket.block, "road": ticket.road, "building": ticket.building,
            "lat": ticket.lat, "lon": ticket.lon,
        }  # fmt: skip
        kept = {key: value for key, value in parts.items() if value is not None}
        return kept or None

    gap = abs((duplicate.created_at - primary.created_at).total_seconds()) / 3600
    return {
        "text_a": primary.match_text,
        "text_b": duplicate.match_text,
        "label": label,
        "location_a": place(primary),
        "location_b": place(duplicate),
        "category_a": primary.category,
        "category_b": duplicate.category,
        "hours_apart": round(gap, 2),
        "reference_a": primary.reference,
        "reference_b": duplicate.reference,
    }


async def mark_recurring(session: AsyncSession, *, ticket: Ticket, history: list[Ticket]) -> None:
    """Flag a ticket as a recurring problem, linked to its earlier tickets."""
    ticket.flags = sorted({*ticket.flags, "recurring"})
    await queries.add_event(
        session,
        actor="dedupe",
        type="recurring",
        ticket_id=ticket.id,
        data={
            "earlier": [t.reference for t in history],
            "category": ticket.category,
            "block": ticket.block,
        },
    )


async def sweep(
    session: AsyncSession, *, since: datetime, rules: DedupeRules, model: PairModel | None = None
) -> list[tuple[str, str]]:
    """Re-examine primaries created since ``since`` for duplicates missed concurrently.

    Returns (duplicate, primary) references linked. Each ticket is compared only with
    older open primaries, so a pair is linked one way, to the older ticket.
    """
    index = await load_index(session)
    statement = (
        select(Ticket, Department.code)
        .outerjoin(Department, col(Department.id) == col(Ticket.department_id))
        .where(
            col(Ticket.primary_ticket_id).is_(None),
            col(Ticket.created_at) >= since,
            col(Ticket.status).in_(_OPEN),
        )
        .order_by(col(Ticket.created_at), col(Ticket.id))
    )
    linked: list[tuple[str, str]] = []
    for ticket, code in (await session.execute(statement)).all():
        if ticket.id not in index:
            continue  # linked earlier in this sweep
        report = report_of(ticket, code)
        decision, primary = await best_primary(
            session, index, new=report, rules=rules, exclude=ticket.id, model=model
        )
        if primary is None or (primary.created_at, primary.id or 0) > (
            ticket.created_at,
            ticket.id or 0,
        ):
            continue
        if decision.features.get("same_contact"):
            continue  # a citizen's second ticket stays theirs; staff may merge it
        await link(session, ticket=ticket, primary=primary, decision=decision, by="sweep")
        index.discard(ticket.id or 0)
        linked.append((ticket.reference, primary.reference))
    return linked
