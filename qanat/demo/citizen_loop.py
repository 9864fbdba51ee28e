"""The demo's citizen side: what citizens were told and what they answered.

The demo has no real gateways, so while it plays its weeks a stand-in gateway takes what
qanat sends on SMS, Telegram, X and email (the acknowledgements first). Then resolved
tickets are told so, asked "is it fixed?" after the survey's delay, and their citizens
answer as citizens do — mostly satisfied, some not ("لا، ما زالت المشكلة", which
reopens the ticket) — each at its own time. Run again, a ticket asked before is not
asked twice.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Any

from sqlmodel import col, select

from qanat.model import Direction, Inbound, Reply, Sender, SentReply
from qanat.outbound.notices import send_due_notices, tell_citizens
from qanat.runtime import Runtime
from qanat.store import notices
from qanat.store.notice_tables import CitizenNotice
from qanat.store.tables import Message, Ticket, stamped_at

#: What the demo's citizens answer, in turn (one in six says it is not fixed).
ANSWERS = ("5", "4", "نعم، شكراً", "5", "لا، ما زالت المشكلة", "✅", "3", "Yes, fixed. Thanks", "5",
           "still broken")  # fmt: skip
#: How long after the question a citizen answers, in the demo's story.
ANSWER_AFTER = timedelta(hours=2)
#: At most this many resolved tickets are asked per run.
ASKED_PER_RUN = 200


class DemoGateway:
    """Stands in for the SMS gateway, the bots and the mail relay: takes every message."""

    def __init__(self) -> None:
        self.sent = 0
        self._ids = itertools.count(1)

    async def send(self, reply: Reply) -> SentReply:
        """Accept the message; the channel's id for it is a made-up one."""
        self.sent += 1
        return SentReply(external_id=f"demo-{reply.channel}-{next(self._ids)}-{id(self)}")


@contextmanager
def demo_gateways(runtime: Runtime) -> Iterator[DemoGateway]:
    """While the demo plays, what qanat sends on the answering channels is taken."""
    gateway = DemoGateway()
    before = dict(runtime.senders)
    for channel in notices.ANSWERING_CHANNELS:
        runtime.senders.setdefault(channel, gateway)
    try:
        yield gateway
    finally:
        runtime.senders.clear()
        runtime.senders.update(before)


async def _to_ask(runtime: Runtime, before: datetime) -> list[Ticket]:
    asked = select(col(CitizenNotice.ticket_id)).where(col(CitizenNotice.kind) == "survey")
    statement = (
        select(Ticket)
        .where(
            col(Ticket.status).in_(("resolved", "closed")),
            col(Ticket.resolved_at) < before,
            col(Ticket.channel).in_(sorted(notices.ANSWERING_CHANNELS)),
            col(Ticket.id).not_in(asked),
        )
        .order_by(col(Ticket.resolved_at), col(Ticket.id))
        .limit(ASKED_PER_RUN)
    )
    async with runtime.db.session() as session:
        return list((await session.execute(statement)).scalars())


async def _question(runtime: Runtime, ticket_id: int) -> Message | None:
    async with runtime.db.session() as session:
        statement = (
            select(Message)
            .join(CitizenNotice, col(CitizenNotice.message_id) == col(Message.id))
            .where(col(CitizenNotice.ticket_id) == ticket_id, col(CitizenNotice.kind) == "survey")
        )
        return (await session.execute(statement)).scalars().first()


async def _citizen(runtime: Runtime, ticket_id: int) -> Message | None:
    async with runtime.db.session() as session:
        statement = (
            select(Message)
            .where(col(Message.ticket_id) == ticket_id, col(Message.direction) == Direction.inbound)
            .order_by(col(Message.id))
        )
        return (await session.execute(statement)).scalars().first()


async def play_citizen_loop(runtime: Runtime, *, now: datetime) -> dict[str, Any]:
    """Tell resolved tickets' citizens, ask them, and play their answers up to ``now``."""
    delay = timedelta(hours=runtime.settings.survey_delay_hours)
    asked = answered = 0
    for turn, ticket in enumerate(await _to_ask(runtime, now - delay - ANSWER_AFTER)):
        assert ticket.id is not None and ticket.resolved_at is not None
        told_at = ticket.resolved_at + timedelta(minutes=1)
        with stamped_at(told_at):
            async with runtime.db.writing() as session:
                fresh = await session.get(Ticket, ticket.id)
                assert fresh is not None
                await tell_citizens(
                    session, settings=runtime.settings, tickets=[fresh], kind="resolved",
                    survey=True, now=told_at,
                )  # fmt: skip
            await send_due_notices(runtime, ticket_ids=[ticket.id], now=told_at)
        question_at = told_at + delay
        async with runtime.db.session() as session:
            survey = (
                await session.execute(
                    select(CitizenNotice).where(
                        col(CitizenNotice.ticket_id) == ticket.id,
                        col(CitizenNotice.kind) == "survey",
                    )
                )
            ).scalar_one_or_none()
        if survey is None:
            continue
        question_at = max(question_at, survey.due_at)
        if question_at > now:
            continue
        with stamped_at(question_at):
            await send_due_notices(runtime, ticket_ids=[ticket.id], now=question_at)
        question, citizen = await _question(runtime, ticket.id), await _citizen(runtime, ticket.id)
        if question is None or question.state != "sent" or citizen is None:
            continue
        asked += 1
        answer_at = question_at + ANSWER_AFTER
        if answer_at > now:
            continue
        inbound = Inbound(
            channel=citizen.channel,
            account=citizen.account,
            external_id=f"demo-answer-{ticket.reference}",
            received_at=answer_at,
            sender=Sender(
                handle=citizen.sender_handle,
                name=citizen.sender_name,
                email=citizen.sender_email,
                phone=citizen.sender_phone,
            ),
            text=ANSWERS[turn % len(ANSWERS)],
            subject=f"Re: {question.subject}" if question.subject else None,
            in_reply_to=[question.external_id],
        )
        with stamped_at(answer_at):
            await runtime.intake.save(inbound)
        answered += 1
    return {"asked": asked, "answered": answered}
