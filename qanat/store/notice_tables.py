"""Tables of what qanat tells citizens by itself: notices (the acknowledgement, status
notices, the "is it fixed?" survey and its answer), the templates staff edit, and the
numbers that said STOP.

Registered on the same metadata as :mod:`qanat.store.tables`; the migration is
``0016_citizen_loop``.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, Index, Text, UniqueConstraint
from sqlmodel import Field

from qanat.store.row import Row
from qanat.store.tables import _when


class CitizenNotice(Row, table=True):
    """One notice to one ticket's citizen, kept once per ticket and ``key``.

    A notice waits (``message_id`` None) until ``due_at`` — quiet hours, the survey's
    delay — and is then released as a queued outbound message, which the reply job sends
    with retries. The unique ``(ticket_id, key)`` is what keeps a notice from being sent
    twice however often the pipeline or a webhook runs. A survey row also keeps the
    citizen's answer.
    """

    __tablename__ = "citizen_notice"
    __table_args__ = (
        UniqueConstraint("ticket_id", "key", name="uq_citizen_notice_ticket_key"),
        Index("ix_citizen_notice_waiting", "state", "due_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    ticket_id: int = Field(foreign_key="ticket.id", index=True)
    #: ack, known, pending, transferred, resolved, survey.
    kind: str = Field(max_length=20)
    #: The kind, plus a round number where a kind can come again (on hold twice).
    key: str = Field(max_length=60)
    channel: str = Field(max_length=40)
    language: str = Field(default="ar", max_length=8)
    text: str = Field(sa_column=Column(Text, nullable=False))
    #: waiting, released (its message is queued or sent), skipped (opted out, no address).
    state: str = Field(default="waiting", max_length=12)
    state_reason: str | None = Field(default=None, max_length=300)
    due_at: datetime = _when()
    created_at: datetime = _when()
    message_id: int | None = Field(default=None, foreign_key="message.id")
    # The survey's answer.
    answered_at: datetime | None = _when(nullable=True)
    score: int | None = None
    satisfied: bool | None = None
    answer_text: str | None = Field(default=None, max_length=2000)


class NoticeTemplate(Row, table=True):
    """An admin's wording of one kind of notice in one language (else the default)."""

    __tablename__ = "notice_template"
    __table_args__ = (UniqueConstraint("kind", "language", name="uq_notice_template"),)

    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(max_length=20)
    language: str = Field(max_length=8)
    text: str = Field(sa_column=Column(Text, nullable=False))
    updated_at: datetime = _when()
    updated_by: str | None = Field(default=None, max_length=160)


class NoticeOptOut(Row, table=True):
    """A number (or other address) that answered STOP: no more notices to it."""

    __tablename__ = "notice_opt_out"
    __table_args__ = (UniqueConstraint("channel", "address", name="uq_notice_opt_out"),)

    id: int | None = Field(default=None, primary_key=True)
    channel: str = Field(max_length=40)
    address: str = Field(max_length=320)
    at: datetime = _when()
