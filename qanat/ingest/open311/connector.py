"""The ``open311`` connector: an upstream GeoReport v2 system, polled like any channel.

Each poll (the worker's cron, every minute) asks the upstream for the requests updated
since the watermark (``updated_after``, every page), oldest change first, and saves each
new one through the intake, keyed by its ``service_request_id`` — so a request read
twice is stored once, and a changed description is kept as an edit. A request the
listing shows without an id yet is left for a later poll; one that cannot be read is a
dead letter. The first poll reads ``first_days`` back.

Replies on a federated ticket (``send``) and its status changes (see
:mod:`qanat.outbound.federation`) go back as GeoReport v2 updates; ``forward`` posts a
new request to another body. ``list_since`` and ``fetch`` let the nightly job prove that
every upstream request of the day is in qanat.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import AsyncIterator, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from qanat import __version__
from qanat.errors import BadPayload
from qanat.ingest.base import (
    CONTRACT_VERSION,
    ConnectorContext,
    ConnectorSpec,
    Pulled,
    WebhookRequest,
    WebhookResponse,
)
from qanat.ingest.open311.account import Open311Account, Watermark
from qanat.ingest.open311.client import GeoReportClient, NewRequest, StatusUpdate
from qanat.ingest.open311.requests import (
    CHANNEL,
    dead_request,
    request_id,
    request_inbound,
    updated_stamp,
)
from qanat.ingest.polling import PollReport, poll_account
from qanat.model import Inbound, Reply, SentReply

log = logging.getLogger(__name__)

#: How many ids ``fetch`` asks for in one listing.
FETCH_BATCH = 50

__all__ = ["SPEC", "NewRequest", "Open311Account", "Open311Connector", "StatusUpdate"]


def _when(item: Any) -> tuple[datetime, str]:
    try:
        stamp = updated_stamp(item) if isinstance(item, dict) else None
    except ValueError:
        stamp = None
    return (stamp or datetime.max.replace(tzinfo=UTC), str(request_id(item) or ""))


def _unchanged(pulled: Pulled, held: dict[str, str]) -> bool:
    """True when qanat already holds this request with this very text."""
    inbound = pulled.inbound
    return (
        inbound is not None
        and pulled.dead_reason is None
        and held.get(inbound.external_id) == inbound.text
    )


class Open311Connector:
    """One Open311 system (see the module's docstring)."""

    def __init__(self, context: ConnectorContext) -> None:
        assert isinstance(context.config, Open311Account)
        self.context = context
        self.config: Open311Account = context.config
        self.client = GeoReportClient(self.config, context.http)

    # --- polling ---------------------------------------------------------------------
    async def pull(self, cursor: dict[str, Any] | None) -> AsyncIterator[Pulled]:
        """Requests changed since the watermark, oldest change first, each with the
        watermark that follows it."""
        now = self.context.clock()
        mark = Watermark.of(cursor, first=now - timedelta(days=self.config.first_days))
        params = {"updated_after": mark.read_from().isoformat(timespec="seconds")}
        if self.config.service_codes:
            params["service_code"] = ",".join(self.config.service_codes)
        items = await self.client.all_requests(**params)
        ids = [i for i in (request_id(item) for item in items if isinstance(item, dict)) if i]
        # What qanat already holds: a request changed upstream only in its status (our own
        # update, read back) is not news.
        held = await self.context.intake.stored_texts(CHANNEL, self.context.account, ids)
        for item in sorted(items, key=_when):
            pulled = self.read(item, mark, now)
            if pulled is not None and _unchanged(pulled, held):
                pulled = Pulled(None, pulled.cursor)
            if pulled is not None:
                yield pulled

    def read(self, item: Any, mark: Watermark, now: datetime) -> Pulled | None:
        """One listed request as a :class:`Pulled` item (None: nothing to do with it yet)."""
        account = self.context.account
        if not isinstance(item, dict):
            reason = "the listing holds something that is not a service request"
            return Pulled(dead_request(item, account=account, now=now), mark.value(), reason)
        known = request_id(item)
        if known is None:
            return None  # no id yet: a later poll picks it up
        try:
            stamp = updated_stamp(item) or now
            inbound = request_inbound(item, account=account, fallback_time=now)
        except (KeyError, ValueError, TypeError) as exc:
            reason = f"the service request cannot be read: {exc}"
            log.warning("open311 %s request %s dead-lettered: %s", account, known, reason)
            return Pulled(dead_request(item, account=account, now=now), mark.value(), reason)
        mark.advance(stamp)
        return Pulled(inbound, mark.value(), edit=True)

    async def poll_once(self) -> PollReport | None:
        """One poll, as the worker's cron runs it (None: this system is not pulled)."""
        if not self.config.poll:
            return None
        return await poll_account(self, self.context)

    # --- reconciliation ----------------------------------------------------------------
    async def list_since(self, since: datetime) -> list[str]:
        """Ids of the upstream's requests made since ``since`` (every page)."""
        if not self.config.poll:
            return []
        # Whole seconds, rounded up: a request made this very second is listed too.
        end = self.context.clock() + timedelta(seconds=1)
        items = await self.client.all_requests(
            start_date=since.isoformat(timespec="seconds"),
            end_date=end.isoformat(timespec="seconds"),
        )
        ids = [request_id(item) for item in items if isinstance(item, dict)]
        return [i for i in ids if i is not None]

    async def fetch(self, external_ids: Sequence[str]) -> AsyncIterator[Inbound]:
        """The requests with these ids, as a poll reads them."""
        now = self.context.clock()
        for start in range(0, len(external_ids), FETCH_BATCH):
            batch = ",".join(external_ids[start : start + FETCH_BATCH])
            for item in await self.client.all_requests(service_request_id=batch):
                try:
                    yield request_inbound(item, account=self.context.account, fallback_time=now)
                except (KeyError, ValueError, TypeError) as exc:
                    log.warning("open311 %s: a fetched request is unreadable: %s", batch, exc)

    # --- going back upstream --------------------------------------------------------------
    async def send(self, reply: Reply) -> SentReply:
        """A public reply on a federated ticket, posted upstream as an update on the request
        it answers (``metadata["open311_status"]`` adds a status; none: a comment)."""
        if not reply.in_reply_to:
            raise BadPayload("a reply upstream needs the service request it answers")
        # The same reply tried again carries the same id, so the upstream keeps it once.
        digest = hashlib.sha256(reply.model_dump_json().encode()).hexdigest()[:24]
        update = StatusUpdate(
            service_request_id=reply.in_reply_to[0],
            update_id=str(reply.metadata.get("update_id") or f"qanat-reply-{digest}"),
            description=reply.text,
            status=reply.metadata.get("open311_status"),
            updated_at=self.context.clock(),
        )
        remote = await self.client.post_update(update)
        return SentReply(external_id=remote, metadata={"update_id": update.update_id})

    async def post_update(self, update: StatusUpdate) -> str:
        """Post a status update upstream; the upstream's id for it."""
        return await self.client.post_update(update)

    async def forward(self, request: NewRequest) -> tuple[str | None, str | None]:
        """Post a request to this body; its ``service_request_id`` or ``token``."""
        return await self.client.post_request(request)

    async def receive(self, request: WebhookRequest) -> WebhookResponse:
        """Not offered: the upstream is polled."""
        raise NotImplementedError("Open311 upstreams are polled")


SPEC = ConnectorSpec(
    name=CHANNEL,
    version=__version__,
    contract_version=CONTRACT_VERSION,
    capabilities=frozenset({"receive", "send", "location", "list", "poll"}),
    config_model=Open311Account,
    build=Open311Connector,
    description="Open311 GeoReport v2 upstream: requests polled, status and replies back",
    secret_fields=frozenset({"api_key"}),
)
