"""arq worker settings: the one place that lists qanat's jobs and cron table.

``qanat worker`` runs these against ``QANAT_REDIS_URL``. Resources are built in
``on_startup`` and handed to jobs through ``ctx``, never at import time.
"""

from __future__ import annotations

import logging
from typing import Any, ClassVar

from arq.connections import RedisSettings
from arq.cron import cron
from arq.worker import Retry, func

from qanat.config import Settings, load_settings
from qanat.jobs.queue import PROCESS_JOB
from qanat.outbound.deps import (
    FORWARD_REQUEST,
    SEND_REPLY,
    SEND_STAFF_MAIL,
    SEND_UPSTREAM_UPDATE,
    Delivery,
)
from qanat.outbound.forwarding import deliver_forward
from qanat.outbound.replies import deliver_reply
from qanat.outbound.staff_mail import deliver_staff_mail
from qanat.outbound.upstream import deliver_upstream_update, queue_status_updates
from qanat.pipeline import Outcome, Result
from qanat.pipeline import process_message as run_pipeline
from qanat.runtime import start_runtime, stop_runtime

log = logging.getLogger(__name__)

#: Seconds before a failed message is tried again (times the attempt number).
RETRY_BACKOFF_S = 5
#: Seconds before a failed send is tried again (times the attempt number): a gateway or
#: a mail relay that is down usually is for minutes, not seconds.
SEND_BACKOFF_S = 30


async def process_message(ctx: dict[str, Any], message_id: int) -> str:
    """arq job: run the pipeline on one message; a transient failure is retried later."""
    outcome: Outcome = await run_pipeline(ctx["runtime"], message_id)
    if outcome.result == Result.retry:
        raise Retry(defer=RETRY_BACKOFF_S * ctx.get("job_try", 1))
    return outcome.result.value


async def send_reply(ctx: dict[str, Any], message_id: int) -> str:
    """arq job: send a queued reply on its channel; a passing failure is tried again later."""
    outcome = await deliver_reply(ctx["runtime"], message_id)
    if outcome == Delivery.retry:
        raise Retry(defer=SEND_BACKOFF_S * ctx.get("job_try", 1))
    return outcome.value


async def send_staff_mail(
    ctx: dict[str, Any], to: list[str], subject: str, text: str, html: str | None = None
) -> str:
    """arq job: mail staff; a relay that says "later" is tried again later."""
    attempt = ctx.get("job_try", 1)
    outcome = await deliver_staff_mail(ctx["runtime"], to, subject, text, html, attempt=attempt)
    if outcome == Delivery.retry:
        raise Retry(defer=SEND_BACKOFF_S * attempt)
    return outcome.value


async def send_upstream_update(ctx: dict[str, Any], update_id: int) -> str:
    """arq job: post a federated ticket's status change upstream; retried while it is down."""
    outcome = await deliver_upstream_update(ctx["runtime"], update_id)
    if outcome == Delivery.retry:
        raise Retry(defer=SEND_BACKOFF_S * ctx.get("job_try", 1))
    return outcome.value


async def forward_request(ctx: dict[str, Any], forward_id: int) -> str:
    """arq job: post a ticket to the body it belongs to; retried while that body is down."""
    outcome = await deliver_forward(ctx["runtime"], forward_id)
    if outcome == Delivery.retry:
        raise Retry(defer=SEND_BACKOFF_S * ctx.get("job_try", 1))
    return outcome.value


async def sync_upstream(ctx: dict[str, Any]) -> int:
    """arq cron job: queue the status updates federated tickets owe their upstream (those
    no staff action queued: a change by the pipeline, a sweep, a crash before queueing)."""
    return len(await queue_status_updates(ctx["runtime"]))


async def startup(ctx: dict[str, Any]) -> None:
    """Build the runtime once per worker process; jobs enqueued from here go to Redis."""
    settings: Settings = ctx.get("settings") or load_settings()
    runtime = ctx["runtime"] = await start_runtime(settings, inline=False)
    async with runtime.db.session() as session:
        await runtime.dedupe.ready(session)  # jobs then find the dedupe index in memory


async def shutdown(ctx: dict[str, Any]) -> None:
    """Close the runtime's connections."""
    runtime = ctx.get("runtime")
    if runtime is not None:
        await stop_runtime(runtime)


async def nightly_reconcile(ctx: dict[str, Any]) -> bool:
    """arq cron job: the nightly reconciliation of the last day (plus an hour of overlap),
    then yesterday's report to the supervisors (when mail is set up)."""
    from datetime import datetime, timedelta

    from qanat.jobs.listers import sources_for
    from qanat.jobs.reconcile import reconcile
    from qanat.jobs.reports import email_daily_report
    from qanat.store.tables import utcnow

    runtime = ctx["runtime"]
    report = await reconcile(
        runtime, since=utcnow() - timedelta(hours=25), sources=sources_for(runtime)
    )
    yesterday = datetime.now(runtime.settings.tz).date() - timedelta(days=1)
    try:
        await email_daily_report(runtime, yesterday)
    except Exception:  # a mail server that is down must not fail the night's ledger
        log.exception("the daily report of %s could not be mailed", yesterday)
    return report.ok


async def poll_connectors(ctx: dict[str, Any]) -> int:
    """arq cron job: poll every configured account whose connector polls; saved count."""
    runtime = ctx["runtime"]
    saved = 0
    for _name, _account, connector in runtime.connectors.with_capability("poll"):
        report = await connector.poll_once()
        saved += report.saved if report is not None else 0
    return saved


async def check_sla(ctx: dict[str, Any]) -> int:
    """arq cron job: SLA warnings and escalations that have come; how many went out."""
    from qanat.jobs.sla_watch import check_sla as announce

    return len(await announce(ctx["runtime"]))


def redis_settings(settings: Settings) -> RedisSettings:
    """arq's connection settings for ``QANAT_REDIS_URL``."""
    if not settings.redis_url:
        raise SystemExit(
            "QANAT_REDIS_URL is not set: without Redis, jobs run inline in `qanat serve`"
        )
    return RedisSettings.from_dsn(settings.redis_url)


class WorkerSettings:
    """What ``arq`` runs: the processing job now; pollers and the nightly job join here."""

    functions: ClassVar[list[Any]] = [
        func(process_message, name=PROCESS_JOB, max_tries=10),
        # The jobs count their own tries (QANAT_SEND_ATTEMPTS); arq's cap is a backstop.
        func(send_reply, name=SEND_REPLY, max_tries=50),
        func(send_staff_mail, name=SEND_STAFF_MAIL, max_tries=50),
        func(send_upstream_update, name=SEND_UPSTREAM_UPDATE, max_tries=50),
        func(forward_request, name=FORWARD_REQUEST, max_tries=50),
    ]
    # 02:00 in the worker's timezone (`qanat worker` passes QANAT_TIMEZONE to arq).
    cron_jobs: ClassVar[list[Any]] = [
        cron(nightly_reconcile, hour={2}, minute={0}, unique=True, run_at_startup=False),
        # Every minute; `unique` keeps one poll per account running across all workers.
        cron(poll_connectors, second={0}, unique=True, timeout=55),
        # Every five minutes (qanat.jobs.sla_watch.CHECK_EVERY), one at a time.
        cron(check_sla, minute=set(range(0, 60, 5)), second={30}, unique=True, timeout=240),
        # Every minute: status changes owed to an upstream Open311 system.
        cron(sync_upstream, second={15}, unique=True, timeout=55),
    ]
    on_startup = startup
    on_shutdown = shutdown
    # Keep job results briefly: a job id is refused while its result is kept, which is
    # what stops one message being queued twice.
    keep_result = 3600
    max_jobs = 20
    job_timeout = 300
