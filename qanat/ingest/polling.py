"""Running a polled connector: save each item, then advance its cursor — never before.

:func:`poll_account` is the default ``poll_once`` of the connector contract: a poller
that only knows how to ``pull`` answers ``poll_once`` with it.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from typing import Any, Protocol

from qanat.errors import ChannelUnavailable
from qanat.ingest.base import ConnectorContext, PollReport, Pulled

__all__ = ["PollReport", "poll_account"]

log = logging.getLogger(__name__)


class Puller(Protocol):
    """What :func:`poll_account` needs of a connector: its ``pull``."""

    def pull(self, cursor: dict[str, Any] | None) -> AsyncIterator[Pulled]:
        """Yield what arrived since ``cursor``."""
        ...


async def poll_account(connector: Puller, context: ConnectorContext) -> PollReport:
    """Pull from the source since the stored cursor and save what arrived.

    The cursor that comes with an item is stored only after the item is committed, so a
    crash, a store outage or a source error never moves the watermark past a message
    qanat does not hold. Errors are reported as channel health, not raised.
    """
    channel, account = context.channel, context.account
    intake, cursors, health = context.intake, context.cursors, context.health
    report = PollReport(channel, account)
    try:
        async for item in connector.pull(await cursors.get(channel, account)):
            if item.inbound is None:
                report.skipped += 1
            elif item.dead_reason is not None:
                await intake.dead_letter(item.inbound, item.dead_reason)
                report.dead_lettered += 1
            elif item.edit:
                edited = await intake.edit(item.inbound)
                report.saved += int(edited.created)
                report.edited += int(not edited.created)
            else:
                result = await intake.save(item.inbound)
                report.saved += int(result.created)
                report.already_known += int(not result.created)
            await cursors.put(channel, account, item.cursor)
    except ChannelUnavailable as exc:
        report.error = str(exc)
    except Exception as exc:  # a connector bug must not stop the worker's other polls
        log.exception("polling %s/%s failed", channel, account)
        report.error = f"{type(exc).__name__}: {exc}"
    if report.error:
        await health.failure(channel, account, report.error)
    else:
        await health.success(channel, account)
    return report
