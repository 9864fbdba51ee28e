"""Reconciliation for X: which posts and DMs the source holds since a time, and
fetching the ones qanat is missing (the nightly job's gap check)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Sequence
from datetime import datetime, timedelta
from typing import Any, Protocol

from qanat.ingest.base import ConnectorContext, Pulled
from qanat.ingest.x.account import XAccount, XCursor
from qanat.ingest.x.posts import (
    DM_PREFIX,
    MENTION_EXPANSIONS,
    PAGE_SIZE,
    PLACE_FIELDS,
    TWEET_FIELDS,
    USER_FIELDS,
    Page,
    created_at,
    dm_external_id,
    dm_predecessors,
)
from qanat.model import Inbound


class XSource(Protocol):
    """What reconciliation reads through: the X connector's client and readers."""

    context: ConnectorContext
    config: XAccount
    client: Any  # tweepy.Client

    async def call(self, method: Callable[..., Any], **params: Any) -> dict[str, Any]:
        """One API call, paced and with X's errors translated."""
        ...

    async def dm_page(self, token: str | None, **where: Any) -> Page:
        """One page of DM events, newest first."""
        ...

    def read(
        self,
        item: dict[str, Any],
        page: Page,
        state: XCursor,
        *,
        mention: bool,
        previous: str | None,
    ) -> Pulled:
        """One post or DM event as the poll reads it."""
        ...


async def list_since(connector: XSource, since: datetime) -> list[str]:
    """Ids of mentions (and DMs from citizens) since ``since``, oldest first."""
    config = connector.config
    ids: list[str] = []
    token: str | None = None
    for _ in range(config.max_pages if config.mentions else 0):
        answer = await connector.call(
            connector.client.get_users_mentions,
            id=config.user_id,
            start_time=since,
            pagination_token=token,
            max_results=PAGE_SIZE,
            user_auth=config.user_auth,
        )
        page = Page.of(answer)
        ids += [str(item["id"]) for item in page.data if "id" in item]
        token = page.next_token
        if not token:
            break
    if config.direct_messages:
        ids += [
            dm_external_id(event["id"])
            for event, _page in await dms_since(connector, since)
            if str(event.get("sender_id")) != config.user_id
        ]
    return sorted(set(ids), key=lambda i: int(i.removeprefix(DM_PREFIX)))


async def dms_since(connector: XSource, since: datetime) -> list[tuple[dict[str, Any], Page]]:
    """Message events since ``since`` (X keeps 30 days; ours too), with their pages."""
    found: list[tuple[dict[str, Any], Page]] = []
    token: str | None = None
    for _ in range(connector.config.max_pages):
        page = await connector.dm_page(token)
        for event in page.data:
            when = created_at(event)
            if when is None or when >= since:
                found.append((event, page))
        token = page.next_token
        times = [when for event in page.data if (when := created_at(event)) is not None]
        if not token or (times and min(times) < since):
            break
    return found


async def fetch(connector: XSource, external_ids: Sequence[str]) -> AsyncIterator[Inbound]:
    """The posts (by id) and DMs (from the last 30 days) named, as a poll reads them."""
    posts = [i for i in external_ids if i.isdigit()]
    for start in range(0, len(posts), PAGE_SIZE):
        answer = await connector.call(
            connector.client.get_tweets,
            ids=posts[start : start + PAGE_SIZE],
            expansions=MENTION_EXPANSIONS,
            tweet_fields=TWEET_FIELDS,
            user_fields=USER_FIELDS,
            place_fields=PLACE_FIELDS,
            user_auth=connector.config.user_auth,
        )
        page = Page.of(answer)
        for item in page.data:
            read = connector.read(item, page, XCursor(), mention=True, previous=None)
            if read.inbound is not None and read.dead_reason is None:
                yield read.inbound
    wanted = {i for i in external_ids if i.startswith(DM_PREFIX)}
    if wanted:
        async for inbound in _fetch_dms(connector, wanted):
            yield inbound


async def _fetch_dms(connector: XSource, wanted: set[str]) -> AsyncIterator[Inbound]:
    events = await dms_since(connector, connector.context.clock() - timedelta(days=30))
    window = timedelta(days=connector.config.dm_thread_days)
    previous = dm_predecessors([event for event, _page in events], window=window)
    for event, page in events:
        if dm_external_id(event["id"]) not in wanted:
            continue
        earlier = previous.get(str(event["id"]))
        read = connector.read(event, page, XCursor(), mention=False, previous=earlier)
        if read.inbound is not None and read.dead_reason is None:
            yield read.inbound
