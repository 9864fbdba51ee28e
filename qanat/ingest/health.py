"""Channel health: connectors report each poll or webhook's success or failure here.

Mail fetching that silently stops is the failure helpdesks report most; a channel whose
last success is old, or whose errors keep coming, shows in the inbox and in /metrics.
"""

from __future__ import annotations

import logging
import time

from qanat.store.db import Database
from qanat.store.queries import insert_or
from qanat.store.tables import ChannelHealth, utcnow

log = logging.getLogger(__name__)

#: Seconds between two recorded successes of one account.
SUCCESS_EVERY_S = 5.0
#: Longest error text kept (the rest is in the logs).
ERROR_TEXT_LIMIT = 500


class HealthRecorder:
    """Records successes and failures per channel account in ``channel_health``."""

    def __init__(self, db: Database) -> None:
        self._db = db
        self._recorded: dict[tuple[str, str], float] = {}

    async def success(self, channel: str, account: str) -> None:
        """A poll or webhook delivery worked (recorded at most every few seconds per
        account: under load, one row written per webhook would serialize them all)."""
        key, moment = (channel, account), time.monotonic()
        if moment - self._recorded.get(key, -SUCCESS_EVERY_S) < SUCCESS_EVERY_S:
            return
        self._recorded[key] = moment
        now = utcnow()
        await self._upsert(
            channel,
            account,
            insert={"last_success_at": now, "error_count": 0, "consecutive_errors": 0},
            update={"last_success_at": now, "consecutive_errors": 0},
        )

    async def failure(self, channel: str, account: str, error: str) -> None:
        """A poll or delivery failed; never raises (health must not break the connector)."""
        self._recorded.pop((channel, account), None)  # the next success is written at once
        now, text = utcnow(), error[:ERROR_TEXT_LIMIT]
        try:
            await self._upsert(
                channel,
                account,
                insert={
                    "last_error_at": now,
                    "last_error": text,
                    "error_count": 1,
                    "consecutive_errors": 1,
                },
                update={
                    "last_error_at": now,
                    "last_error": text,
                    "error_count": ChannelHealth.error_count + 1,
                    "consecutive_errors": ChannelHealth.consecutive_errors + 1,
                },
            )
        except Exception:
            log.exception("could not record a failure of %s/%s", channel, account)

    async def _upsert(
        self, channel: str, account: str, *, insert: dict[str, object], update: dict[str, object]
    ) -> None:
        async with self._db.writing() as session:
            statement = (
                insert_or(session, ChannelHealth)
                .values(channel=channel, account=account, **insert)
                .on_conflict_do_update(index_elements=["channel", "account"], set_=update)
            )
            await session.execute(statement)
