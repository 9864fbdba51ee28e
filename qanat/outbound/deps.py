"""What sending needs of the running process, and how a send ends.

Replies and staff mail never leave inside a web request or a stage: they are queued
(:class:`JobSink`), and a job delivers them, retrying what failed for a passing reason.
The composition root (:mod:`qanat.runtime`) provides these; outbound never builds them.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from typing import Any, Protocol

from qanat.config import Settings
from qanat.model import Reply, SentReply
from qanat.store.db import Database

#: Job names (the arq functions of :class:`qanat.worker.WorkerSettings`).
SEND_REPLY = "send_reply"
SEND_STAFF_MAIL = "send_staff_mail"
SEND_UPSTREAM_UPDATE = "send_upstream_update"
FORWARD_REQUEST = "forward_request"


class Delivery(StrEnum):
    """How one try at sending ended."""

    sent = "sent"
    #: Failed for a passing reason (a gateway down): try again later.
    retry = "retry"
    #: Failed for good (refused, or out of tries): visible where staff look.
    failed = "failed"
    #: Nothing to send it with (the call centre, the majlis): staff deliver it by hand.
    by_hand = "by_hand"
    #: Sent or settled before: nothing done (a job run twice sends nothing twice).
    skipped = "skipped"


class ReplySender(Protocol):
    """Delivers a reply on one channel (a connector's ``send``)."""

    async def send(self, reply: Reply) -> SentReply:
        """Send ``reply``; return the channel's id for the sent message. Raise on failure."""
        ...


class JobSink(Protocol):
    """Where outbound work is queued: arq on Redis, or run at once in this process."""

    async def enqueue(self, job: str, *args: Any, job_id: str | None = None) -> None:
        """Queue ``job(*args)``; a ``job_id`` already queued is not queued twice."""
        ...


class OutboundDeps(Protocol):
    """What sending needs: the store, settings, connector accounts, the queue, senders."""

    @property
    def settings(self) -> Settings:
        """This process's settings."""
        ...

    @property
    def db(self) -> Database:
        """The store."""
        ...

    @property
    def accounts(self) -> Mapping[str, list[dict[str, Any]]]:
        """Configured connector accounts by channel (the staff-mail relay is among them)."""
        ...

    @property
    def queue(self) -> JobSink:
        """Where sends are queued."""
        ...

    def sender_for(self, channel: str, account: str) -> ReplySender | None:
        """What delivers a reply on a channel account; None: staff deliver it by hand."""
        ...
