"""The X (Twitter) connector: mentions and DMs polled with tweepy, replies out.

Each poll (the worker's cron, every minute) reads:

- **mentions** of the account (``GET /2/users/:id/mentions``) after the ``since_id``
  watermark, all pages, then saves them oldest first, the watermark following each
  committed post;
- **DMs** (``GET /2/dm_events``, newest first, no ``since_id`` in the API) down to the
  last event saved, then saves the new ones oldest first. Our own DMs are skipped (the
  reply flow stored them).

The first poll of an account reads only the latest page of each: qanat does not import
an account's history. A 429 (``TooManyRequests``) pauses the account until X's
``x-rate-limit-reset``: the pause is kept with the watermark, reported as channel
health, and polls before that time send nothing to X. Any other failure keeps the
watermark where it was. tweepy is synchronous: it runs in a worker thread, its HTTP
carried by the runtime's client (:mod:`qanat.ingest.x.transport`).
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import requests
import tweepy
from pydantic import SecretStr

from qanat import __version__
from qanat.errors import ChannelUnavailable
from qanat.ingest.base import (
    CONTRACT_VERSION,
    ConnectorContext,
    ConnectorSpec,
    Pulled,
    WebhookRequest,
    WebhookResponse,
)
from qanat.ingest.polling import PollReport, poll_account
from qanat.ingest.x import history as x_history
from qanat.ingest.x.account import RateLimited, XAccount, XCursor
from qanat.ingest.x.posts import (
    CHANNEL,
    DM_EVENT_FIELDS,
    DM_EXPANSIONS,
    DM_PREFIX,
    MENTION_EXPANSIONS,
    PAGE_SIZE,
    PLACE_FIELDS,
    TWEET_FIELDS,
    USER_FIELDS,
    Page,
    dead_inbound,
    dm_inbound,
    dm_predecessors,
    mention_inbound,
    numeric_id,
)
from qanat.ingest.x.send import XSender
from qanat.ingest.x.transport import HttpxAdapter, mount, run_in_thread
from qanat.model import Inbound, Reply, SentReply

log = logging.getLogger(__name__)

#: X's rate-limit windows are 15 minutes: the pause when a 429 names no reset time.
DEFAULT_PAUSE = timedelta(minutes=15)

__all__ = ["SPEC", "RateLimited", "XAccount", "XConnector", "XCursor"]


class XConnector:
    """One X account (see the module's docstring)."""

    def __init__(self, context: ConnectorContext) -> None:
        assert isinstance(context.config, XAccount)
        self.context = context
        self.config: XAccount = context.config
        secret = _secret
        self.client = tweepy.Client(
            bearer_token=secret(self.config.bearer_token),
            consumer_key=secret(self.config.consumer_key),
            consumer_secret=secret(self.config.consumer_secret),
            access_token=secret(self.config.access_token),
            access_token_secret=secret(self.config.access_token_secret),
            return_type=dict,  # each item is parsed on its own: one bad post fails alone
            wait_on_rate_limit=False,  # a 429 pauses this account, not the worker
        )
        self.adapter = HttpxAdapter(context.http)
        mount(self.client.session, self.adapter)
        self.sender = XSender(self.client, self.call)

    async def call(self, method: Callable[..., Any], **params: Any) -> dict[str, Any]:
        """Run one tweepy call; X's refusals become qanat's errors, here and only here."""
        try:
            answer = await run_in_thread(self.adapter, lambda: method(**params))
        except tweepy.TooManyRequests as exc:
            reset = exc.reset_time
            now = self.context.clock()
            until = datetime.fromtimestamp(reset, UTC) if reset else now + DEFAULT_PAUSE
            raise RateLimited(max(until, now)) from exc
        except (tweepy.TweepyException, requests.RequestException) as exc:
            raise ChannelUnavailable(f"X API: {exc}") from exc
        assert isinstance(answer, dict)
        return answer

    # --- polling ---------------------------------------------------------------------
    async def pull(self, cursor: dict[str, Any] | None) -> AsyncIterator[Pulled]:
        """New mentions, then new DMs, each with the watermark that follows it."""
        state = XCursor.of(cursor)
        now = self.context.clock()
        if state.paused_until is not None:
            if now < state.paused_until:
                raise RateLimited(state.paused_until)
            state.paused_until = None
        try:
            if self.config.mentions:
                async for item in self._mentions(state):
                    yield item
            if self.config.direct_messages:
                async for item in self._direct_messages(state):
                    yield item
        except RateLimited as exc:
            state.paused_until = exc.reset_at
            yield Pulled(None, state.value())  # stored: the next polls wait
            raise

    async def _mentions(self, state: XCursor) -> AsyncIterator[Pulled]:
        pages = await self._mention_pages(state.mentions_since_id)
        items = sorted(
            ((item, page) for page in pages for item in page.data), key=lambda p: numeric_id(p[0])
        )
        for item, page in items:
            state.mentions_since_id = str(item.get("id"))
            if str(item.get("author_id")) == self.config.user_id:
                yield Pulled(None, state.value())
                continue
            yield self.read(item, page, state, mention=True, previous=None)

    async def _mention_pages(self, since_id: str | None) -> list[Page]:
        pages: list[Page] = []
        token: str | None = None
        for _ in range(self.config.max_pages if since_id else 1):
            answer = await self.call(
                self.client.get_users_mentions,
                id=self.config.user_id,
                since_id=since_id,
                pagination_token=token,
                max_results=PAGE_SIZE,
                expansions=MENTION_EXPANSIONS,
                tweet_fields=TWEET_FIELDS,
                user_fields=USER_FIELDS,
                place_fields=PLACE_FIELDS,
                user_auth=self.config.user_auth,
            )
            pages.append(_logged(Page.of(answer), "mentions"))
            token = pages[-1].next_token
            if not token:
                return pages
        if since_id:  # never move the watermark over posts not fetched
            raise ChannelUnavailable(
                f"more than {self.config.max_pages} pages of mentions; raise max_pages"
            )
        return pages

    async def _direct_messages(self, state: XCursor) -> AsyncIterator[Pulled]:
        pages = await self._dm_pages(state.dm_since_id)
        events = [event for page in pages for event in page.data]
        floor = int(state.dm_since_id or 0)
        new = sorted(
            ((e, page) for page in pages for e in page.data if numeric_id(e) > floor),
            key=lambda p: numeric_id(p[0]),
        )
        previous = await self._predecessors(events, [e for e, _page in new])
        for event, page in new:
            state.dm_since_id = str(event.get("id"))
            if str(event.get("sender_id")) == self.config.user_id:
                yield Pulled(None, state.value())
                continue
            yield self.read(
                event, page, state, mention=False, previous=previous.get(_raw_id(event))
            )

    async def dm_page(self, token: str | None, **where: Any) -> Page:
        """One page of message events, newest first (``dm_conversation_id`` narrows it)."""
        answer = await self.call(
            self.client.get_direct_message_events,
            dm_event_fields=DM_EVENT_FIELDS,
            event_types="MessageCreate",
            expansions=DM_EXPANSIONS,
            user_fields=USER_FIELDS,
            max_results=PAGE_SIZE,
            pagination_token=token,
            user_auth=True,
            **where,
        )
        return _logged(Page.of(answer), "DM events")

    async def _dm_pages(self, since_id: str | None) -> list[Page]:
        pages: list[Page] = []
        token: str | None = None
        floor = int(since_id or 0)
        for _ in range(self.config.max_pages if since_id else 1):
            pages.append(await self.dm_page(token))
            token = pages[-1].next_token
            if not token or any(numeric_id(event) <= floor for event in pages[-1].data):
                return pages
        if since_id:
            raise ChannelUnavailable(
                f"more than {self.config.max_pages} pages of new DMs; raise max_pages"
            )
        return pages

    async def _predecessors(
        self, fetched: list[dict[str, Any]], new: list[dict[str, Any]]
    ) -> dict[str, str]:
        window = timedelta(days=self.config.dm_thread_days)
        found = dm_predecessors(fetched, window=window)
        earliest: dict[str, dict[str, Any]] = {}
        for event in sorted(fetched, key=numeric_id):
            earliest.setdefault(str(event.get("dm_conversation_id")), event)
        for event in new:
            conversation = str(event.get("dm_conversation_id"))
            if _raw_id(event) in found or earliest.get(conversation) is not event:
                continue
            # Its conversation's earlier messages were not on the pages read: ask for them.
            page = await self.dm_page(None, dm_conversation_id=conversation)
            found |= {
                key: value
                for key, value in dm_predecessors([*page.data, event], window=window).items()
                if key == _raw_id(event)
            }
        return found

    def read(
        self,
        item: dict[str, Any],
        page: Page,
        state: XCursor,
        *,
        mention: bool,
        previous: str | None,
    ) -> Pulled:
        """A post or DM as a :class:`Pulled` item carrying ``state``; unreadable: a dead letter."""
        now, account = self.context.clock(), self.context.account
        try:
            if mention:
                inbound = mention_inbound(
                    item, page, account=account, own_id=self.config.user_id, fallback_time=now
                )
            else:
                inbound = dm_inbound(
                    item, page, account=account, previous=previous, fallback_time=now
                )
        except (KeyError, ValueError, TypeError) as exc:
            key = str(item.get("id") or f"unreadable:{now.timestamp()}")
            key = key if mention else DM_PREFIX + key
            reason = f"tweepy cannot read this {'post' if mention else 'DM'}: {exc!r}"
            log.warning("x item %s dead-lettered: %s", key, reason)
            dead = dead_inbound(item, page, account=account, key=key, now=now)
            return Pulled(dead, state.value(), dead_reason=reason)
        return Pulled(inbound, state.value())

    async def poll_once(self) -> PollReport:
        """One poll, as the worker's cron runs it."""
        return await poll_account(self, self.context)

    # --- reconciliation ----------------------------------------------------------------
    async def list_since(self, since: datetime) -> list[str]:
        """Ids of mentions (and DMs from citizens) since ``since``, oldest first."""
        return await x_history.list_since(self, since)

    def fetch(self, external_ids: Sequence[str]) -> AsyncIterator[Inbound]:
        """The posts (by id) and DMs (from the last 30 days) named, as a poll reads them."""
        return x_history.fetch(self, external_ids)

    # --- replies and the rest of the contract -------------------------------------------
    async def send(self, reply: Reply) -> SentReply:
        """A public reply or a DM (see :class:`~qanat.ingest.x.send.XSender`)."""
        return await self.sender.send(reply)

    async def receive(self, request: WebhookRequest) -> WebhookResponse:
        """Not offered: qanat polls X (the Account Activity webhooks need a paid tier)."""
        raise NotImplementedError("X is polled")


def _secret(value: SecretStr | None) -> str | None:
    return value.get_secret_value() if value is not None else None


def _raw_id(event: dict[str, Any]) -> str:
    return str(event.get("id"))


def _logged(page: Page, what: str) -> Page:
    if page.errors:
        # Partial errors name expansions X could not return (a deleted post, a place);
        # the items themselves are fine.
        details = "; ".join(str(e.get("detail") or e.get("title")) for e in page.errors)
        log.info("X returned %s with %d partial errors: %s", what, len(page.errors), details)
    return page


SPEC = ConnectorSpec(
    name=CHANNEL,
    version=__version__,
    contract_version=CONTRACT_VERSION,
    capabilities=frozenset({"receive", "send", "location", "list", "poll"}),
    config_model=XAccount,
    build=XConnector,
    description="X (Twitter): mentions and DMs polled, public replies or DMs out",
    secret_fields=frozenset(
        {"bearer_token", "consumer_key", "consumer_secret", "access_token", "access_token_secret"}
    ),
)
