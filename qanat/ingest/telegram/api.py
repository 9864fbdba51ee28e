"""Talking to the Telegram Bot API through python-telegram-bot, over qanat's HTTP client.

python-telegram-bot builds every request and reads every answer (error codes, retry
hints, the objects); :class:`ContextRequest` only carries the bytes, through the httpx
client the connector is handed, so tests and operators choose where it goes (a local
Bot API server through ``base_url`` / ``base_file_url``, a proxy, a fake).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

import httpx
from telegram import Bot, Message, ReplyParameters
from telegram.error import NetworkError, TelegramError, TimedOut
from telegram.request import BaseRequest, RequestData

from qanat.ingest.telegram.updates import FileToFetch, external_id, split_for_telegram
from qanat.model import Attachment, Reply, SentReply

log = logging.getLogger(__name__)

#: Seconds to wait for the Bot API when python-telegram-bot names no timeout.
DEFAULT_TIMEOUT_S = 30.0

#: The Bot API serves files up to this size through ``getFile``.
BOT_API_FILE_LIMIT = 20 * 1024 * 1024


def _seconds(value: Any, default: float) -> float | None:
    # python-telegram-bot passes a DefaultValue marker when the caller named no timeout.
    if value is None or isinstance(value, int | float):
        return value
    return default


class ContextRequest(BaseRequest):
    """python-telegram-bot's HTTP layer over an httpx client owned by qanat's runtime."""

    def __init__(self, client: httpx.AsyncClient, *, timeout: float = DEFAULT_TIMEOUT_S) -> None:
        self._client = client
        self._timeout = timeout

    @property
    def read_timeout(self) -> float | None:
        """Default seconds to wait for an answer."""
        return self._timeout

    async def initialize(self) -> None:
        """Nothing to open: the client belongs to the runtime."""

    async def shutdown(self) -> None:
        """Nothing to close: the runtime closes its client."""

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: Any = BaseRequest.DEFAULT_NONE,
        write_timeout: Any = BaseRequest.DEFAULT_NONE,
        connect_timeout: Any = BaseRequest.DEFAULT_NONE,
        pool_timeout: Any = BaseRequest.DEFAULT_NONE,
    ) -> tuple[int, bytes]:
        """Send one request; network failures become python-telegram-bot's own errors."""
        timeout = httpx.Timeout(
            connect=_seconds(connect_timeout, self._timeout),
            read=_seconds(read_timeout, self._timeout),
            write=_seconds(write_timeout, self._timeout),
            pool=_seconds(pool_timeout, self._timeout),
        )
        files = request_data.multipart_data if request_data else None
        data = request_data.json_parameters if request_data else None
        try:
            response = await self._client.request(
                method,
                url,
                headers={"User-Agent": self.USER_AGENT},
                timeout=timeout,
                data=data,
                files=files or None,
            )
        except httpx.TimeoutException as exc:
            raise TimedOut from exc
        except httpx.HTTPError as exc:
            raise NetworkError(f"cannot reach the Bot API: {exc!r}") from exc
        return response.status_code, response.content


def make_bot(token: str, *, base_url: str, base_file_url: str, http: httpx.AsyncClient) -> Bot:
    """A python-telegram-bot ``Bot`` whose requests go through ``http``."""
    request = ContextRequest(http)
    return Bot(
        token,
        base_url=base_url,
        base_file_url=base_file_url,
        request=request,
        get_updates_request=request,
    )


async def fetch_files(
    bot: Bot, files: Sequence[FileToFetch], *, max_bytes: int
) -> list[Attachment]:
    """Download a message's files with ``getFile``; one that can't be had keeps a note."""
    attachments = []
    for item in files:
        attachment = Attachment(name=item.name, content_type=item.content_type, size=item.size or 0)
        limit = min(max_bytes, BOT_API_FILE_LIMIT)
        if item.size is not None and item.size > limit:
            note = f"not fetched: {item.size} bytes is over the {limit}-byte limit"
            attachments.append(attachment.model_copy(update={"note": note}))
            continue
        try:
            telegram_file = await bot.get_file(item.file_id)
            content = bytes(await telegram_file.download_as_bytearray())
        except TelegramError as exc:
            # The message is kept with the file's id; staff (or a re-fetch) can get it later.
            log.warning("telegram file %s not fetched: %s", item.file_id, exc)
            note = f"not fetched: {exc}; file_id {item.file_id}"
            attachments.append(attachment.model_copy(update={"note": note}))
            continue
        attachments.append(attachment.model_copy(update={"content": content, "size": len(content)}))
    return attachments


def reply_target(reply: Reply) -> tuple[int | str, int | None]:
    """The chat a reply goes to, and the citizen's message it answers (if known).

    The citizen's message id names its chat (``chat_id:message_id``); without one, the
    citizen's user id is their private chat with the bot.
    """
    for answered in reply.in_reply_to:
        chat, _, message = answered.rpartition(":")
        if chat.lstrip("-").isdigit() and message.isdigit():
            return int(chat), int(message)
    return reply.to.handle, None


class TelegramSender:
    """Sends staff replies with ``sendMessage``, as replies to the citizen's message."""

    def __init__(self, bot: Bot) -> None:
        self.bot = bot

    async def send(self, reply: Reply) -> SentReply:
        """Send ``reply``, split at Telegram's limit; the id is the last part's.

        The last part is the one a citizen sees at the bottom and most likely answers;
        every part's id is in the metadata. Plain text: no entities, no parse mode.
        """
        chat_id, answered = reply_target(reply)
        parts = split_for_telegram(reply.text)
        if not parts:
            raise ValueError("a Telegram reply needs some text")
        sent: list[Message] = []
        for index, part in enumerate(parts):
            answering = None
            if index == 0 and answered is not None:
                answering = ReplyParameters(message_id=answered, allow_sending_without_reply=True)
            sent.append(
                await self.bot.send_message(chat_id=chat_id, text=part, reply_parameters=answering)
            )
        ids = [external_id(message.chat_id, message.message_id) for message in sent]
        return SentReply(
            external_id=ids[-1],
            raw=b"[" + b",".join(message.to_json().encode() for message in sent) + b"]",
            metadata={"parts": ids},
        )
