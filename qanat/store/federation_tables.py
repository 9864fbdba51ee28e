"""Federation's tables: status updates owed to an upstream system, requests forwarded to
another body, and (as a server) updates partners posted to qanat's own Open311.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import UniqueConstraint
from sqlmodel import Field

from qanat.store.row import Row
from qanat.store.tables import _when


class UpstreamUpdate(Row, table=True):
    """A federated ticket's status change, owed to the upstream system it came from.

    One row per status change and upstream request; sent by a queued job that retries,
    and checked by the nightly reconciliation. ``update_id`` is what the upstream
    de-duplicates a retried post by.
    """

    __tablename__ = "upstream_update"
    __table_args__ = (
        UniqueConstraint("event_id", "account", "service_request_id", name="uq_upstream_update"),
    )

    id: int | None = Field(default=None, primary_key=True)
    event_id: int | None = Field(default=None, foreign_key="event.id")
    ticket_id: int = Field(foreign_key="ticket.id", index=True)
    account: str = Field(max_length=120)
    service_request_id: str = Field(max_length=500)
    status: str = Field(max_length=10)
    description: str = ""
    state: str = Field(default="queued", max_length=20, index=True)
    attempts: int = 0
    detail: str | None = None
    remote_id: str | None = Field(default=None, max_length=200)
    created_at: datetime = _when()
    sent_at: datetime | None = _when(nullable=True)


class ForwardedRequest(Row, table=True):
    """A ticket forwarded to another body's Open311 endpoint, and the reference it got there."""

    __tablename__ = "forwarded_request"
    __table_args__ = (UniqueConstraint("ticket_id", "account", name="uq_forwarded_request"),)

    id: int | None = Field(default=None, primary_key=True)
    ticket_id: int = Field(foreign_key="ticket.id", index=True)
    account: str = Field(max_length=120)
    requested_by: str = Field(max_length=160)
    state: str = Field(default="queued", max_length=20, index=True)
    attempts: int = 0
    detail: str | None = None
    service_request_id: str | None = Field(default=None, max_length=500)
    token: str | None = Field(default=None, max_length=500)
    created_at: datetime = _when()
    sent_at: datetime | None = _when(nullable=True)


class Open311Update(Row, table=True):
    """An update a partner system posted to one of qanat's service requests.

    Kept once per client and client update id, so a partner's retry changes nothing.
    """

    __tablename__ = "open311_update"
    __table_args__ = (
        UniqueConstraint("client", "client_update_id", name="uq_open311_update_client"),
    )

    id: int | None = Field(default=None, primary_key=True)
    client: str = Field(max_length=120)
    client_update_id: str = Field(max_length=200)
    ticket_id: int = Field(foreign_key="ticket.id", index=True)
    status: str | None = Field(default=None, max_length=10)
    description: str = ""
    updated_at: datetime | None = _when(nullable=True)
    received_at: datetime = _when(index=True)
