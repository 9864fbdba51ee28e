"""Polling existing mailboxes over IMAP (Exchange, Gmail, Dovecot) with imapclient.

Per mailbox a watermark ``{"uidvalidity": v, "last_uid": n}`` is kept in the cursor
store and moved only past messages the intake committed. Messages are fetched with
``BODY.PEEK[]`` so nothing is marked read before it is saved; after the commit a
message is optionally flagged and/or moved to a processed folder. A changed
UIDVALIDITY means the server renumbered the folder: it is scanned again from the
start, and the intake's idempotency keeps anything from being stored twice.

imapclient is synchronous; every call runs in a worker thread, one at a time.
"""

from __future__ import annotations

import asyncio
import contextlib
import imaplib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.parser import HeaderParser
from typing import Any, TypeVar

from imapclient import IMAPClient
from pydantic import BaseModel, ConfigDict, SecretStr

from qanat.errors import BadPayload, ChannelUnavailable
from qanat.ingest.base import CursorStore, Intake
from qanat.ingest.email.headers import header_text, normalize_message_id, raw_external_id
from qanat.ingest.email.mime import CHANNEL, parse_email
from qanat.model import Inbound, Sender

log = logging.getLogger(__name__)

#: What a lost or refused IMAP connection raises (imapclient errors derive from imaplib's).
CONNECTION_ERRORS = (imaplib.IMAP4.error, OSError)

T = TypeVar("T")


class ImapMailbox(BaseModel):
    """One mailbox folder to poll, as written in the connectors file."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    host: str
    port: int = 993
    ssl: bool = True
    starttls: bool = False
    username: str
    password: SecretStr
    folder: str = "INBOX"
    processed_folder: str | None = None
    flag_after: str | None = "\\Seen"
    account: str | None = None
    timeout: float = 30.0

    @property
    def account_name(self) -> str:
        """The account messages and the watermark are stored under."""
        return self.account or f"imap:{self.username}@{self.host}/{self.folder}"


@dataclass
class MailboxPoll:
    """What one poll of one mailbox did (the connector reports it as a ``PollReport``)."""

    fetched: int = 0
    saved: int = 0
    duplicates: int = 0
    dead_lettered: int = 0
    errors: int = 0
    error: str | None = None
    rescanned: bool = False


def backoff_delay(failures: int, initial: float, cap: float) -> float:
    """Seconds to wait after ``failures`` failed polls in a row: doubling, capped."""
    return float(min(cap, initial * 2 ** max(0, failures - 1)))


def _utc_now() -> datetime:
    return datetime.now(UTC)


class ImapPoller:
    """Polls one :class:`ImapMailbox` into the intake; IDLE where the server offers it."""

    def __init__(
        self,
        mailbox: ImapMailbox,
        intake: Intake,
        cursors: CursorStore,
        clock: Callable[[], datetime] = _utc_now,
        *,
        attachment_max_bytes: int | None = None,
        batch_size: int = 50,
        batch_bytes: int = 16 * 1024 * 1024,
        poll_interval: float = 60.0,
        idle_timeout: float = 600.0,
        backoff_initial: float = 5.0,
        backoff_cap: float = 300.0,
        use_idle: bool = True,
    ) -> None:
        self.mailbox = mailbox
        self.intake = intake
        self.cursors = cursors
        self.clock = clock
        self.account = mailbox.account_name
        self.attachment_max_bytes = attachment_max_bytes
        self.batch_size = batch_size
        self.batch_bytes = batch_bytes
        self.poll_interval = poll_interval
        self.idle_timeout = idle_timeout
        self.backoff_initial = backoff_initial
        self.backoff_cap = backoff_cap
        self.use_idle = use_idle  # off for servers whose IDLE misbehaves: poll instead
        self.health: dict[str, Any] = {
            "last_success": None,
            "last_error": None,
            "last_error_at": None,
            "error_count": 0,
        }
        self._client: IMAPClient | None = None

    async def poll_once(self) -> MailboxPoll:
        """Save what arrived since the watermark; errors are reported, never raised."""
        report = MailboxPoll()
        try:
            await self._poll(report)
        except CONNECTION_ERRORS as exc:
            await self.close()
            report.errors += 1
            report.error = f"IMAP {self.mailbox.host}: {type(exc).__name__}: {exc}"
        except ChannelUnavailable as exc:  # the dead-letter commit failed
            report.errors += 1
            report.error = f"store: {exc}"
        except Exception as exc:  # a bug must not stop the worker: report it, retry later
            log.exception("imap %s: poll failed", self.account)
            report.errors += 1
            report.error = f"{type(exc).__name__}: {exc}"
        self._record_health(report)
        if report.error:
            log.warning("imap %s: %s", self.account, report.error)
        return report

    async def _poll(self, report: MailboxPoll) -> None:
        uidvalidity = await self._select()
        cursor = await self.cursors.get(CHANNEL, self.account)
        last_uid = 0
        if cursor and cursor.get("uidvalidity") == uidvalidity:
            last_uid = int(cursor.get("last_uid", 0))
        elif cursor:
            report.rescanned = True
            log.info("imap %s: UIDVALIDITY changed, scanning again", self.account)
        sizes = await self._call(self._sizes_after, last_uid)
        for batch in batches(sizes, self.batch_size, self.batch_bytes):
            fetched = await self._call(self._fetch, batch)
            for uid in batch:
                if uid not in fetched:
                    continue  # expunged between SEARCH and FETCH
                report.fetched += 1
                if not await self._store(uid, uidvalidity, *fetched[uid], report):
                    return  # the watermark stays before the message not committed
                await self._call(self._acknowledge, uid)
                watermark = {"uidvalidity": uidvalidity, "last_uid": uid}
                await self.cursors.put(CHANNEL, self.account, watermark)

    async def _store(
        self, uid: int, uidvalidity: int, raw: bytes, arrived: datetime, report: MailboxPoll
    ) -> bool:
        try:
            inbound = await asyncio.to_thread(  # parsing a large message takes a while
                parse_email,
                raw,
                account=self.account,
                received_at=arrived,
                attachment_max_bytes=self.attachment_max_bytes,
            )
        except BadPayload as exc:
            await self.intake.dead_letter(
                self._unreadable(raw, uid, uidvalidity, arrived), str(exc)
            )
            report.dead_lettered += 1
            return True
        inbound.metadata["imap"] = {
            "folder": self.mailbox.folder,
            "uid": uid,
            "uidvalidity": uidvalidity,
        }
        try:
            result = await self.intake.save(inbound)
        except ChannelUnavailable as exc:
            report.errors += 1
            report.error = f"store: {exc}"
            return False
        report.saved += int(result.created)
        report.duplicates += int(not result.created)
        return True

    def _unreadable(self, raw: bytes, uid: int, uidvalidity: int, arrived: datetime) -> Inbound:
        return Inbound(
            channel=CHANNEL,
            account=self.account,
            external_id=f"uid:{uidvalidity}:{uid}",
            received_at=arrived,
            sender=Sender(handle="unknown"),
            raw=raw,
            metadata={"imap": {"folder": self.mailbox.folder, "uid": uid}},
        )

    def _record_health(self, report: MailboxPoll) -> None:
        now = self.clock()
        if report.error:
            self.health["last_error"] = report.error
            self.health["last_error_at"] = now
            self.health["error_count"] += 1
        else:
            self.health["last_success"] = now
            self.health["error_count"] = 0

    async def run(self, stop: asyncio.Event) -> None:
        """Poll until ``stop`` is set: IDLE between polls if offered, else sleep.

        Failed polls back off (doubling from ``backoff_initial`` up to ``backoff_cap``)
        and are recorded in :attr:`health`; nothing here raises.
        """
        failures = 0
        try:
            while not stop.is_set():
                report = await self.poll_once()
                if report.error:
                    failures += 1
                    delay = backoff_delay(failures, self.backoff_initial, self.backoff_cap)
                    await _wait(stop, delay)
                    continue
                failures = 0
                if not await self._idle(stop):
                    await _wait(stop, self.poll_interval)
        finally:
            await self.close()

    async def _idle(self, stop: asyncio.Event) -> bool:
        """Wait in IDLE until the server reports a change; False when IDLE is not offered."""
        client = self._client
        if not self.use_idle or client is None or not client.has_capability("IDLE"):
            return False
        deadline = time.monotonic() + self.idle_timeout
        try:
            await self._call(client.idle)
            try:
                while not stop.is_set() and time.monotonic() < deadline:
                    if await self._call(client.idle_check, 1.0):
                        break
            finally:
                await self._call(client.idle_done)
        except CONNECTION_ERRORS as exc:
            log.info("imap %s: IDLE ended: %s", self.account, exc)
            await self.close()
        return True

    async def list_since(self, since: datetime) -> list[str]:
        """External ids of the folder's messages that arrived since ``since``.

        Message-IDs as :func:`parse_email` stores them; for a message without one, the
        same ``sha256:`` id of its raw bytes, so the reconciliation compares like with like.
        """
        await self._select()
        return await self._call(self._ids_since, since)

    async def close(self) -> None:
        """Log out (best effort) and forget the connection."""
        client, self._client = self._client, None
        if client is not None:
            with contextlib.suppress(*CONNECTION_ERRORS):
                await self._call(client.logout)

    async def _call(self, function: Callable[..., T], *args: Any) -> T:
        return await asyncio.to_thread(function, *args)

    async def _select(self) -> int:
        if self._client is None:
            self._client = await self._call(self._connect)
        client: IMAPClient = self._client
        selected = await self._call(client.select_folder, self.mailbox.folder)
        return int(selected[b"UIDVALIDITY"])

    # The methods below run in a worker thread.

    def _connect(self) -> IMAPClient:
        box = self.mailbox
        client = IMAPClient(box.host, port=box.port, ssl=box.ssl, timeout=box.timeout)
        try:
            if box.starttls:
                client.starttls()
            client.login(box.username, box.password.get_secret_value())
            client.normalise_times = False  # keep INTERNALDATE's own offset
            if box.processed_folder and not client.folder_exists(box.processed_folder):
                client.create_folder(box.processed_folder)
        except BaseException:
            client.shutdown()
            raise
        return client

    def _sizes_after(self, last_uid: int) -> dict[int, int]:
        """UID → size of every message above ``last_uid``, in UID order."""
        assert self._client is not None
        # "n:*" always matches the highest UID, even below n: filter.
        uids = sorted(
            uid for uid in self._client.search(["UID", f"{last_uid + 1}:*"]) if uid > last_uid
        )
        sizes: dict[int, int] = {}
        for start in range(0, len(uids), 500):
            response = self._client.fetch(uids[start : start + 500], ["RFC822.SIZE"])
            sizes.update({uid: int(response[uid].get(b"RFC822.SIZE", 0)) for uid in response})
        return dict(sorted(sizes.items()))

    def _fetch(self, uids: list[int]) -> dict[int, tuple[bytes, datetime]]:
        assert self._client is not None
        response = self._client.fetch(uids, ["BODY.PEEK[]", "INTERNALDATE"])
        fetched: dict[int, tuple[bytes, datetime]] = {}
        for uid, data in response.items():
            raw = data.get(b"BODY[]")
            if isinstance(raw, bytes):
                fetched[uid] = (raw, _aware(data.get(b"INTERNALDATE")) or self.clock())
        return fetched

    def _acknowledge(self, uid: int) -> None:
        assert self._client is not None
        client, box = self._client, self.mailbox
        if box.flag_after:
            client.add_flags([uid], [box.flag_after], silent=True)
        if box.processed_folder:
            if client.has_capability("MOVE"):
                client.move([uid], box.processed_folder)
            else:
                client.copy([uid], box.processed_folder)
                client.add_flags([uid], [b"\\Deleted"], silent=True)
                client.uid_expunge([uid])

    def _ids_since(self, since: datetime) -> list[str]:
        assert self._client is not None
        # SEARCH SINCE compares dates in the server's zone: ask a day early, then filter.
        uids = self._client.search(["SINCE", (since - timedelta(days=1)).date()])
        if not uids:
            return []
        response = self._client.fetch(
            uids, ["BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)]", "INTERNALDATE"]
        )
        ids: list[str] = []
        without_id: list[int] = []
        for uid in sorted(response):
            data = response[uid]
            arrived = _aware(data.get(b"INTERNALDATE"))
            if arrived is not None and arrived < since:
                continue
            header = next((v for k, v in data.items() if k.startswith(b"BODY[HEADER")), b"")
            message = HeaderParser().parsestr(bytes(header).decode("ascii", "surrogateescape"))
            message_id = normalize_message_id(header_text(message, "Message-ID", []))
            if message_id and len(message_id) <= 500:
                ids.append(message_id)
            else:
                without_id.append(uid)
        if without_id:
            bodies = self._client.fetch(without_id, ["BODY.PEEK[]"])
            ids.extend(raw_external_id(bytes(bodies[uid][b"BODY[]"])) for uid in sorted(bodies))
        return ids


def batches(sizes: dict[int, int], most: int, most_bytes: int) -> list[list[int]]:
    """UIDs in order, grouped so a FETCH carries at most ``most`` messages and about
    ``most_bytes`` (a message larger than that travels alone)."""
    grouped: list[list[int]] = []
    current: list[int] = []
    weight = 0
    for uid, size in sizes.items():
        if current and (len(current) >= most or weight + size > most_bytes):
            grouped.append(current)
            current, weight = [], 0
        current.append(uid)
        weight += size
    return [*grouped, current] if current else grouped


def _aware(value: object) -> datetime | None:
    if not isinstance(value, datetime):
        return None
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


async def _wait(stop: asyncio.Event, seconds: float) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), timeout=seconds)
