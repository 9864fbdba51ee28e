"""The public's satisfaction: what citizens answered to "is it fixed?", as figures.

One :class:`SurveyFact` per survey sent; :func:`summarise` turns any group of them into
the figures a body is judged by — the share satisfied (CSAT), the average score, how
many answered, and how many said it was not fixed (the ticket reopened).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, or_, select

from qanat.store.access import Viewer, visible_tickets
from qanat.store.notice_tables import CitizenNotice
from qanat.store.tables import Message, Ticket
from qanat.store.views import department_codes


@dataclass(frozen=True)
class SurveyFact:
    """One survey sent, and its answer if any."""

    department: str
    channel: str
    category: str | None
    asked_at: datetime
    answered_at: datetime | None = None
    score: int | None = None
    satisfied: bool | None = None

    @property
    def reopened(self) -> bool:
        """The citizen said it is not fixed (a no, or a score of 1 or 2)."""
        if self.answered_at is None or self.satisfied:
            return False
        return self.score is None or self.score <= 2


def summarise(facts: Iterable[SurveyFact]) -> dict[str, Any]:
    """Asked, answered, satisfied, reopened; the CSAT share, the average score, the
    response rate and the reopen rate (percentages; None where nothing to divide)."""
    rows = list(facts)
    answered = [f for f in rows if f.answered_at is not None]
    scores = [f.score for f in answered if f.score is not None]
    satisfied = sum(1 for f in answered if f.satisfied)
    reopened = sum(1 for f in answered if f.reopened)

    def share(part: int, whole: int) -> float | None:
        return round(100 * part / whole, 1) if whole else None

    return {
        "asked": len(rows),
        "answered": len(answered),
        "satisfied": satisfied,
        "reopened": reopened,
        "csat": share(satisfied, len(answered)),
        "average_score": round(sum(scores) / len(scores), 2) if scores else None,
        "response_rate": share(len(answered), len(rows)),
        "reopen_rate": share(reopened, len(rows)),
    }


def by(facts: Iterable[SurveyFact], key: Callable[[SurveyFact], str]) -> dict[str, dict[str, Any]]:
    """:func:`summarise` per group (department, channel, category, month), by name."""
    groups: dict[str, list[SurveyFact]] = defaultdict(list)
    for fact in facts:
        groups[key(fact)].append(fact)
    return {name: summarise(groups[name]) for name in sorted(groups)}


async def survey_facts(
    session: AsyncSession,
    *,
    start: datetime,
    end: datetime,
    viewer: Viewer | None = None,
) -> list[SurveyFact]:
    """Surveys sent or answered in ``[start, end)`` (of the tickets ``viewer`` may see,
    when given)."""
    departments = await department_codes(session)
    statement = (
        select(CitizenNotice, Ticket, col(Message.created_at))
        .join(Ticket, col(Ticket.id) == col(CitizenNotice.ticket_id))
        .join(Message, col(Message.id) == col(CitizenNotice.message_id))
        .where(
            col(CitizenNotice.kind) == "survey",
            or_(
                (col(Message.created_at) >= start) & (col(Message.created_at) < end),
                (col(CitizenNotice.answered_at) >= start) & (col(CitizenNotice.answered_at) < end),
            ),
        )
    )
    if viewer is not None:
        statement = statement.where(visible_tickets(viewer))
    return [
        SurveyFact(
            department=departments.get(ticket.department_id or -1, "unassigned"),
            channel=ticket.channel,
            category=ticket.category,
            asked_at=asked_at,
            answered_at=notice.answered_at,
            score=notice.score,
            satisfied=notice.satisfied,
        )
        for notice, ticket, asked_at in (await session.execute(statement)).all()
    ]
