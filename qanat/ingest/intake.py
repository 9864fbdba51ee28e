"""Save-raw-first: the :class:`~qanat.ingest.base.Intake` every connector is handed."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol

from qanat.errors import BadPayload, ChannelUnavailable
from qanat.ingest.base import SaveResult
from qanat.ingest.fitting import fit_inbound
from qanat.model import Attachment, Inbound, ProcessingState, Sender
from qanat.store import edits, queries
from qanat.store.db import Database
from qanat.store.errors import describe, is_store_error, store_unavailable

log = logging.getLogger(__name__)


def store_attachment_bytes(item: Attachment, *, folder: Path, max_bytes: int) -> Attachment:
    """Write an attachment's bytes under ``folder`` by content hash; oversize keeps metadata.

    Files are named by sha256, so the same photo sent twice is stored once.
    """
    if item.content is None:
        return item
    digest = hashlib.sha256(item.content).hexdigest()
    if len(item.content) > max_bytes:
        note = f"not kept: {len(item.content)} bytes is over the {max_bytes}-byte limit"
        return item.model_copy(update={"sha256": digest, "note": note, "content": None})
    relative = f"{digest[:2]}/{digest}"
    path = folder / relative
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_suffix(".part")
        temporary.write_bytes(item.content)
        temporary.replace(path)  # atomic: a reader never sees half a file
    return item.model_copy(
        update={"sha256": digest, "size": len(item.content), "stored_at": relative}
    )


class ProcessingQueue(Protocol):
    """Where a committed message is handed for processing (the job queue, or inline)."""

    async def enqueue_processing(self, message_id: int, *, attempt: int = 0) -> None:
        """Queue (or run) the processing of ``message_id``."""
        ...


class StoreIntake:
    """Commits inbound messages to the store, then queues their processing."""

    def __init__(
        self,
        db: Database,
        queue: ProcessingQueue,
        *,
        attachments_dir: Path,
        attachment_max_bytes: int,
    ) -> None:
        self._db = db
        self._queue = queue
        self._folder = attachments_dir
        self._max_bytes = attachment_max_bytes

    async def save(self, inbound: Inbound) -> SaveResult:
        """Commit ``inbound`` and queue it; a message seen before is not saved again, and
        is queued again only while it still waits for processing (the source redelivered
        it, perhaps because this process died between its commit and its enqueue: the
        queue's job id keeps it from being processed twice)."""
        result = await self._commit(inbound, state=ProcessingState.received, reason=None)
        if result.created or await self._still_waiting(result.message_id):
            await self._enqueue(result.message_id)
        return result

    async def _still_waiting(self, message_id: int) -> bool:
        try:
            async with self._db.session() as session:
                state = await queries.message_state(session, message_id=message_id)
        except Exception as exc:
            if is_store_error(exc) or isinstance(exc, OSError):
                return False  # the sweeper finds it later
            raise
        return state == ProcessingState.received

    async def dead_letter(self, inbound: Inbound, reason: str) -> SaveResult:
        """Commit a message that cannot be processed, visibly, with its reason."""
        return await self._commit(inbound, state=ProcessingState.dead_letter, reason=reason)

    async def hold(self, inbound: Inbound, reason: str) -> SaveResult:
        """Commit a message that is not processed on its own (e.g. one part of a long SMS).

        It is kept raw, marked ``ignored`` with the reason, and accounted for by the
        nightly integrity check.
        """
        return await self._commit(inbound, state=ProcessingState.ignored, reason=reason)

    async def edit(self, inbound: Inbound) -> SaveResult:
        """Apply the sender's edit of a stored message (text changes, an event records
        old and new); a message not stored yet is saved (and processed) as new."""
        inbound = fit_inbound(inbound)
        try:
            async with self._db.writing() as session:
                message_id = await edits.record_edit(session, inbound=inbound)
        except Exception as exc:
            if not _raised_by_store(exc):
                raise
            if store_unavailable(exc):
                raise ChannelUnavailable("the store cannot save messages now") from exc
            log.warning("edit of a stored message refused by the store", exc_info=True)
            return await self._quarantine(inbound, exc)
        if message_id is None:
            return await self.save(inbound)
        return SaveResult(message_id, False)

    async def stored_texts(
        self, channel: str, account: str, external_ids: Sequence[str]
    ) -> dict[str, str]:
        """External id → text of the messages already stored."""
        async with self._db.session() as session:
            found = await queries.messages_by_external_ids(
                session, channel=channel, account=account, external_ids=external_ids
            )
        return {message.external_id: message.text for message in found}

    async def record_delivery(
        self, channel: str, account: str, external_id: str, status: str, detail: str | None
    ) -> bool:
        """Record a delivery receipt (status, error) on the sent message and its ticket."""
        async with self._db.writing() as session:
            found = await queries.messages_by_external_ids(
                session, channel=channel, account=account, external_ids=[external_id]
            )
            if not found:
                return False
            message = found[0]
            message.channel_metadata = {**message.channel_metadata, "delivery": status}
            await queries.add_event(
                session,
                actor=channel,
                type="delivery_status",
                ticket_id=message.ticket_id,
                message_id=message.id,
                data={"status": status, "detail": detail},
            )
        return True

    async def _commit(self, inbound: Inbound, *, state: str, reason: str | None) -> SaveResult:
        """Save ``inbound`` (fitted to the store); an outage is ``ChannelUnavailable``,
        and a value the store still refuses keeps the raw bytes as a dead letter."""
        fitted = fit_inbound(inbound)
        stored = fitted.model_copy(
            update={
                "attachments": [
                    store_attachment_bytes(a, folder=self._folder, max_bytes=self._max_bytes)
                    for a in fitted.attachments
                ]
            }
        )
        try:
            return await self._insert(stored, state=state, reason=reason)
        except Exception as exc:
            if not _raised_by_store(exc):
                raise
            if store_unavailable(exc):
                raise ChannelUnavailable("the store cannot save messages now") from exc
            log.warning("a message's fields were refused by the store", exc_info=True)
            return await self._quarantine(stored, exc)

    async def _insert(self, inbound: Inbound, *, state: str, reason: str | None) -> SaveResult:
        async with self._db.writing() as session:
            message_id, created = await queries.save_message(
                session, inbound=inbound, state=state, reason=reason
            )
            if created and state == ProcessingState.dead_letter:
                await queries.add_event(
                    session,
                    actor="intake",
                    type="dead_lettered",
                    message_id=message_id,
                    data={"reason": reason},
                )
        return SaveResult(message_id, created)

    async def _quarantine(self, inbound: Inbound, exc: BaseException) -> SaveResult:
        """Keep the raw bytes of a message whose fields the store refused, visibly.

        Only the source key and the raw bytes are stored; the reason names the error's
        class, never its message (which would repeat the SQL and the citizen's data).
        """
        reason = (
            f"the store refused this message's fields ({describe(exc)}); "
            "the raw bytes are kept: fix and retry"
        )
        bare = Inbound.model_construct(
            channel=inbound.channel,
            account=inbound.account,
            external_id=inbound.external_id,
            received_at=inbound.received_at,
            sender=Sender.model_construct(handle="unknown"),
            subject=None,
            text="",
            html=None,
            attachments=[],
            in_reply_to=[],
            location=None,
            category=None,
            kind=None,
            department=None,
            status=None,
            metadata={"store_refused": describe(exc)},
            raw=queries.raw_bytes_of(inbound),
        )
        try:
            return await self._insert(bare, state=ProcessingState.dead_letter, reason=reason)
        except Exception as again:
            if _raised_by_store(again) and store_unavailable(again):
                raise ChannelUnavailable("the store cannot save messages now") from again
            if not _raised_by_store(again):
                raise
            raise BadPayload(f"the message cannot be stored: {describe(again)}") from again

    async def _enqueue(self, message_id: int) -> None:
        try:
            await self._queue.enqueue_processing(message_id)
        except Exception as exc:
            # The message is committed; the sweeper re-queues whatever is still
            # `received` after a short grace, so a queue outage loses nothing.
            log.warning("message %s saved but not queued (%s)", message_id, type(exc).__name__)


def _raised_by_store(exc: BaseException) -> bool:
    return is_store_error(exc) or isinstance(exc, OSError | UnicodeError)


class StoreCursors:
    """Connector watermarks in the ``connector_cursor`` table."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def get(self, channel: str, account: str) -> dict[str, Any] | None:
        """The stored watermark, or None before the first poll."""
        async with self._db.session() as session:
            return await queries.get_cursor(session, channel=channel, account=account)

    async def put(self, channel: str, account: str, value: dict[str, Any]) -> None:
        """Store the watermark (after the messages it covers are committed)."""
        async with self._db.writing() as session:
            await queries.put_cursor(session, channel=channel, account=account, value=value)
