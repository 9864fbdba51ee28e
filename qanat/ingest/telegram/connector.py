"""The Telegram connector: a bot's updates by webhook or long polling, replies out.

- **Webhook** (``mode: webhook``): Telegram posts each update to
  ``/webhooks/telegram/{account}`` with the secret given to ``setWebhook`` in
  ``X-Telegram-Bot-Api-Secret-Token``. A wrong or missing secret is refused (403) before
  anything is read; a body that isn't JSON is 415, truncated JSON 400; 200 is answered
  only after the update is committed, and 503 when the store is down, so Telegram
  retries. An update python-telegram-bot cannot parse (old payloads lack fields it now
  requires) is kept as a dead letter with its raw bytes and answered 200.
- **Long polling** (``mode: polling``): ``getUpdates`` from the stored ``update_id``
  offset, which moves (and so confirms updates to Telegram) only after each update is
  committed. A failing Bot API is retried with back-off; the offset stays put.
- Update kinds other than ``message`` and ``edited_message`` are acknowledged and logged,
  not stored: a bot also hears about members joining, buttons and polls, which are not
  citizens' messages. An edit changes the stored text and shows on the ticket's
  timeline (:func:`qanat.store.edits.record_edit`); it opens no ticket.

See :mod:`qanat.ingest.telegram.updates` for how an update becomes an ``Inbound``.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, model_validator
from telegram import Update
from telegram.error import BadRequest, NetworkError, RetryAfter, TelegramError

from qanat import __version__
from qanat.errors import BadPayload, ChannelUnavailable, ForgedRequest
from qanat.ingest.base import (
    CONTRACT_VERSION,
    ConnectorContext,
    ConnectorSpec,
    Pulled,
    SaveResult,
    WebhookRequest,
    WebhookResponse,
)
from qanat.ingest.jsonbody import load_json
from qanat.ingest.polling import PollReport, poll_account
from qanat.ingest.telegram.api import TelegramSender, fetch_files, make_bot
from qanat.ingest.telegram.updates import (
    CHANNEL,
    HANDLED_KINDS,
    dead_letter_inbound,
    files_of,
    inbound_of,
    update_bytes,
    update_kind,
)
from qanat.model import Inbound, Reply, SentReply

log = logging.getLogger(__name__)

#: Updates asked for per ``getUpdates`` call (the Bot API's maximum).
BATCH_SIZE = 100

#: The header Telegram puts the ``setWebhook`` secret in.
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"

Sleep = Callable[[float], Awaitable[None]]


class TelegramAccount(BaseModel):
    """One bot: its token, how updates arrive, and where the Bot API is."""

    model_config = ConfigDict(extra="forbid")

    account: str
    token: SecretStr
    mode: Literal["webhook", "polling"] = "webhook"
    secret_token: SecretStr | None = Field(
        default=None, description="The secret given to setWebhook; required for webhooks."
    )
    base_url: str = "https://api.telegram.org/bot"
    base_file_url: str = "https://api.telegram.org/file/bot"
    max_file_bytes: int = Field(default=20 * 1024 * 1024, ge=0)
    batches_per_poll: int = Field(default=10, ge=1, description="getUpdates calls per poll.")
    tries: int = Field(default=3, ge=1, description="getUpdates tries per poll when it fails.")
    backoff_s: float = Field(default=1.0, ge=0, description="First wait between tries.")

    @model_validator(mode="after")
    def _webhook_needs_a_secret(self) -> TelegramAccount:
        if self.mode == "webhook" and self.secret_token is None:
            raise ValueError("mode webhook needs secret_token (the secret given to setWebhook)")
        return self


def _is_json(content_type: str | None) -> bool:
    media_type = (content_type or "").split(";")[0].strip().lower()
    return media_type == "application/json"


def _decode(body: bytes) -> dict[str, Any]:
    try:
        update = load_json(body)
    except BadPayload as exc:
        raise BadPayload(f"the update is not valid JSON: {exc}") from exc
    if not isinstance(update, dict) or not isinstance(update.get("update_id"), int):
        raise BadPayload("a Telegram update is a JSON object with an integer update_id")
    return update


class TelegramConnector:
    """One bot account (see the module's docstring)."""

    def __init__(self, context: ConnectorContext, *, sleep: Sleep = asyncio.sleep) -> None:
        assert isinstance(context.config, TelegramAccount)
        self.context = context
        self.config: TelegramAccount = context.config
        self.bot = make_bot(
            self.config.token.get_secret_value(),
            base_url=self.config.base_url,
            base_file_url=self.config.base_file_url,
            http=context.http,
        )
        self.sender = TelegramSender(self.bot)
        self._sleep = sleep

    # --- webhook -------------------------------------------------------------------
    async def receive(self, request: WebhookRequest) -> WebhookResponse:
        """One update from Telegram: checked, committed, then answered."""
        self._check_secret(request.header(SECRET_HEADER))
        if not _is_json(request.header("content-type")):
            reason = (
                f"expected Content-Type application/json, got {request.header('content-type')!r}"
            )
            return WebhookResponse(status=415, body=reason.encode())
        update = _decode(request.body)
        item = await self.read_update(update, raw=request.body, cursor={})
        await self.commit(item)
        await self.context.health.success(CHANNEL, self.context.account)
        return WebhookResponse(body=b'{"ok":true}', content_type="application/json")

    def _check_secret(self, given: str | None) -> None:
        expected = self.config.secret_token
        if expected is None:
            raise ForgedRequest(f"telegram account {self.context.account!r} has no webhook secret")
        if given is None or not hmac.compare_digest(
            given.encode(), expected.get_secret_value().encode()
        ):
            raise ForgedRequest(f"{SECRET_HEADER} is missing or wrong")

    async def commit(self, item: Pulled) -> SaveResult | None:
        """Hand one read update to the intake (as the poll loop does for polled ones)."""
        intake = self.context.intake
        if item.inbound is None:
            return None
        if item.dead_reason is not None:
            return await intake.dead_letter(item.inbound, item.dead_reason)
        if item.edit:
            return await intake.edit(item.inbound)
        return await intake.save(item.inbound)

    # --- reading updates -----------------------------------------------------------
    async def read_update(
        self, update: dict[str, Any], *, raw: bytes, cursor: dict[str, Any]
    ) -> Pulled:
        """One update as a :class:`Pulled` item: a message, an edit, a dead letter or a skip."""
        kind = update_kind(update)
        if kind is None:
            other = next((key for key in update if key != "update_id"), "nothing")
            log.info("telegram update %s (%s) acknowledged, not stored", update["update_id"], other)
            return Pulled(None, cursor)
        try:
            message = getattr(Update.de_json(update, self.bot), kind)
            if message is None:
                raise ValueError(f"no {kind} in the update")
            files = files_of(message)
        except Exception as exc:  # any parse failure: keep it raw, visibly
            return self._dead(
                update, raw, cursor, f"python-telegram-bot cannot read this {kind}", exc
            )
        attachments = await fetch_files(self.bot, files, max_bytes=self.config.max_file_bytes)
        try:
            inbound = inbound_of(
                message,
                account=self.context.account,
                update_id=update["update_id"],
                kind=kind,
                raw=raw,
                attachments=attachments,
            )
        except (ValueError, TypeError, AttributeError) as exc:  # a field of the wrong shape
            return self._dead(
                update, raw, cursor, f"this {kind} has a field qanat cannot read", exc
            )
        return Pulled(inbound, cursor, edit=kind == "edited_message")

    def _dead(
        self, update: dict[str, Any], raw: bytes, cursor: dict[str, Any], why: str, exc: Exception
    ) -> Pulled:
        """An update kept raw as a dead letter, with the reason staff read (the log line
        names the error's class only: its message may quote the citizen's text)."""
        reason = f"{why}: {type(exc).__name__}: {exc}"[:500]
        log.warning(
            "telegram update %s dead-lettered (%s)", update.get("update_id"), type(exc).__name__
        )
        dead = dead_letter_inbound(
            update, account=self.context.account, raw=raw, received_at=self.context.clock()
        )
        return Pulled(dead, cursor, dead_reason=reason)

    # --- long polling --------------------------------------------------------------
    async def pull(self, cursor: dict[str, Any] | None) -> AsyncIterator[Pulled]:
        """Updates after the stored offset, each with the offset that confirms it."""
        offset = (cursor or {}).get("offset")
        for _ in range(self.config.batches_per_poll):
            updates = await self._get_updates(offset)
            for update in updates:
                if not isinstance(update, dict) or not isinstance(update.get("update_id"), int):
                    log.error("telegram getUpdates returned an item without update_id: %r", update)
                    continue
                offset = max(offset or 0, update["update_id"] + 1)
                yield await self.read_update(
                    update, raw=update_bytes(update), cursor={"offset": offset}
                )
            if len(updates) < BATCH_SIZE:
                return

    async def _get_updates(self, offset: int | None) -> list[Any]:
        # Raw JSON, not Bot.get_updates: that parses the whole batch at once, so one
        # malformed update would lose the others. Bot API method names are
        # case-insensitive; lower case keeps python-telegram-bot from pointing us back.
        arguments: dict[str, Any] = {"offset": offset, "limit": BATCH_SIZE, "timeout": 0}
        arguments["allowed_updates"] = list(HANDLED_KINDS)
        wait, problem = self.config.backoff_s, "no try made"
        for attempt in range(1, self.config.tries + 1):
            try:
                result = await self.bot.do_api_request("getupdates", api_kwargs=arguments)
            except (RetryAfter, NetworkError) as exc:
                if isinstance(exc, BadRequest):
                    raise ChannelUnavailable(f"Telegram refused getUpdates: {exc}") from exc
                problem = f"{type(exc).__name__}: {exc}"
            except TelegramError as exc:  # bad token, a webhook is set (Conflict), …
                raise ChannelUnavailable(f"Telegram refused getUpdates: {exc}") from exc
            else:
                if not isinstance(result, list):
                    raise ChannelUnavailable(f"getUpdates answered {type(result).__name__}")
                return result
            log.warning("telegram getUpdates try %s failed: %s", attempt, problem)
            if attempt < self.config.tries:
                await self._sleep(wait)
                wait *= 2
        raise ChannelUnavailable(f"getUpdates failed {self.config.tries} times: {problem}")

    async def poll_once(self) -> PollReport | None:
        """One poll, as the worker's cron runs it; None for a webhook account."""
        if self.config.mode != "polling":
            return None
        return await self.poll()

    async def poll(self) -> PollReport:
        """Poll now, whatever the mode: save what arrived, then move the offset."""
        return await poll_account(self, self.context)

    # --- replies and the rest of the contract --------------------------------------
    async def send(self, reply: Reply) -> SentReply:
        """Send a staff reply as a reply to the citizen's message (see TelegramSender)."""
        return await self.sender.send(reply)

    async def set_webhook(self, url: str) -> bool:
        """Tell Telegram to post this bot's updates to ``url`` with the account's secret."""
        secret = self.config.secret_token
        return await self.bot.set_webhook(
            url,
            secret_token=secret.get_secret_value() if secret else None,
            allowed_updates=list(HANDLED_KINDS),
        )

    async def list_since(self, since: datetime) -> list[str]:
        """Not offered: the Bot API cannot list past messages."""
        raise NotImplementedError("the Telegram Bot API keeps no listable history")

    def fetch(self, external_ids: Sequence[str]) -> AsyncIterator[Inbound]:
        """Not offered (see ``list_since``)."""
        raise NotImplementedError("the Telegram Bot API keeps no listable history")


SPEC = ConnectorSpec(
    name=CHANNEL,
    version=__version__,
    contract_version=CONTRACT_VERSION,
    capabilities=frozenset(
        {"receive", "send", "attachments", "location", "edit", "poll", "webhook"}
    ),
    config_model=TelegramAccount,
    build=TelegramConnector,
    description="Telegram bots: webhook or long polling, replies with sendMessage",
    secret_fields=frozenset({"token", "secret_token"}),
)
