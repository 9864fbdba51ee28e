"""Running a polled connector: save each item, then advance its cursor — never before."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from qanat.errors import ChannelUnavailable
from qanat.ingest.base import Connector, CursorStore, HealthReporter, Intake

log = logging.getLogger(__name__)


@dataclass
class PollReport:
    """What one poll of one account did."""

    channel: str
    account: str
    saved: int = 0
    already_known: int = 0
    dead_lettered: int = 0
    skipped: int = 0
    edited: int = 0
    error: str | None = None


async def poll_account(
    connector: Connector,
    *,
    channel: str,
    account: str,
    intake: Intake,
    cursors: CursorStore,
    health: HealthReporter,
) -> PollReport:
    """Pull from the source since the stored cursor and save what arrived.

    The cursor that comes with an item is stored only after the item is committed, so a
    crash, a store outage or a source error never moves the watermark past a message
    qanat does not hold. Errors are reported as channel health, not raised.
    """
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
