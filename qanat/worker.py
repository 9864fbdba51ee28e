"""arq worker settings: the one place that lists qanat's jobs and cron table.

``qanat worker`` runs these against ``QANAT_REDIS_URL``. Resources are built in
``on_startup`` and handed to jobs through ``ctx``, never at import time.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import socket
import time
from functools import partial
from typing import Any, ClassVar

from arq.connections import RedisSettings, create_pool
from arq.constants import in_progress_key_prefix
from arq.cron import CronJob, cron
from arq.worker import Retry, Worker, func
from redis.exceptions import RedisError

from qanat.config import Settings, load_settings
from qanat.jobs.batching import Batcher, process_and_notify
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
from qanat.router.rules import RoutingRules
from qanat.runtime import start_runtime, stop_runtime

log = logging.getLogger(__name__)

#: Seconds before a failed message is tried again (times the attempt number).
RETRY_BACKOFF_S = 5
#: Seconds before a failed send is tried again (times the attempt number): a gateway or
#: a mail relay that is down usually is for minutes, not seconds.
SEND_BACKOFF_S = 30


async def process_message(ctx: dict[str, Any], message_id: int) -> str:
    """arq job: run the pipeline on one message, in a batch with the messages of the
    jobs running at the same moment (its notices go after the batch's commit, as jobs
    of their own); a transient failure is retried later."""
    batcher: Batcher = ctx["batcher"]
    outcome: Outcome = await batcher.submit(message_id)
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


#: How long a job's claim on Redis lasts unless its worker renews it: a worker killed
#: mid-job leaves its jobs to another worker after at most this long.
LEASE_S = 30
#: How often a worker renews the claims of the jobs it runs.
RENEW_EVERY_S = 10
#: Waits between tries while Redis or the store is unreachable (the last one repeats).
OUTAGE_BACKOFF_S = (1, 2, 3, 5)
#: How often a worker records that it is healthy (the key lives one interval more).
HEALTH_EVERY_S = 10


def backoff(attempt: int) -> float:
    """Seconds to wait before try ``attempt`` (0-based) while a service is away."""
    return OUTAGE_BACKOFF_S[min(attempt, len(OUTAGE_BACKOFF_S) - 1)]


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
    """Build the runtime once per worker process; jobs enqueued from here go to Redis.

    A store that is down at start-up is waited for (with back-off), not a crash.
    """
    from qanat.store.errors import describe, store_unavailable

    settings: Settings = ctx.get("settings") or load_settings()
    for attempt in itertools.count():
        try:
            runtime = ctx["runtime"] = await start_runtime(settings, inline=False)
            ctx["batcher"] = Batcher(
                partial(process_and_notify, runtime),
                size=settings.batch_size,
                wait_s=settings.batch_wait_ms / 1000,
            )
            async with runtime.db.session() as session:
                await runtime.dedupe.ready(session)  # jobs then find the index in memory
            return
        except Exception as exc:
            if not store_unavailable(exc):
                raise
            log.warning("the store is unavailable at start-up (%s); waiting", describe(exc))
            await asyncio.sleep(backoff(attempt))


async def keep_dedupe_index(ctx: dict[str, Any]) -> bool:
    """arq cron job: this worker's dedupe index kept in its snapshot, so a restart after a
    crash catches up a day of events at most; whether it is kept."""
    runtime = ctx["runtime"]
    async with runtime.db.session() as session:
        kept: bool = await runtime.dedupe.save(session)
    return kept


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


async def sweep_waiting(ctx: dict[str, Any]) -> int:
    """arq cron job: queue again the messages and replies still waiting (see
    :mod:`qanat.jobs.sweep`); how many were queued."""
    from qanat.jobs.sweep import sweep

    report = await sweep(ctx["runtime"])
    return report.requeued_messages + report.requeued_replies


async def check_sla(ctx: dict[str, Any]) -> int:
    """arq cron job: SLA warnings and escalations that have come; how many went out."""
    from qanat.jobs.sla_watch import check_sla as announce

    return len(await announce(ctx["runtime"]))


def sweep_seconds(every: int) -> set[int]:
    """The seconds of each minute at which the sweep runs (every minute at :15 unless
    ``every`` divides a minute)."""
    if every < 60 and 60 % every == 0:
        return set(range(15 % every, 60, every))
    return {15}


def cron_jobs(settings: Settings) -> list[CronJob]:
    """The cron table, with the sweep as often as ``QANAT_SWEEP_EVERY_SECONDS`` says."""
    sweeper = cron(
        sweep_waiting, second=sweep_seconds(settings.sweep_every_seconds), unique=True, timeout=50
    )
    return [*WorkerSettings.cron_jobs, sweeper]


def health_key() -> str:
    """This machine's worker health key (``qanat worker --check`` reads it)."""
    return f"qanat:worker-health:{socket.gethostname()}"


async def refresh_rules(ctx: dict[str, Any]) -> str:
    """arq cron job: the routing rules version staff saved last, in this worker too."""
    rules: RoutingRules = await ctx["runtime"].refresh_rules()
    return rules.version


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
        # Long, and still re-run within a minute if its worker dies: the claim is renewed.
        cron(nightly_reconcile, hour={2}, minute={0}, unique=True, run_at_startup=False),
        # Every minute; `unique` keeps one poll per account running across all workers.
        cron(poll_connectors, second={0}, unique=True, timeout=55),
        # Every five minutes (qanat.jobs.sla_watch.CHECK_EVERY), one at a time.
        cron(check_sla, minute=set(range(0, 60, 5)), second={30}, unique=True, timeout=240),
        # Every minute: status changes owed to an upstream Open311 system.
        cron(sync_upstream, second={15}, unique=True, timeout=55),
        # Every minute in every worker (not unique: each process holds its own rules).
        cron(refresh_rules, second={15}, unique=False, timeout=30),
        # Nightly in every worker (each holds its own index; the last written is kept).
        cron(keep_dedupe_index, hour={3}, minute={30}, unique=False, timeout=600),
    ]
    on_startup = startup
    on_shutdown = shutdown
    # Keep job results briefly: a job id is refused while its result is kept, which is
    # what stops one message being queued twice.
    keep_result = 3600
    # Jobs run at once: the processing jobs among them share batches (QANAT_BATCH_SIZE),
    # so a worker needs room for a few batches' worth.
    max_jobs = 100
    # Seconds between looks at the queue when it has had no room or no work: each look
    # starts up to max_jobs jobs, so this bounds a worker's rate at max_jobs / poll_delay.
    poll_delay = 0.1
    job_timeout = 300
    health_check_interval = HEALTH_EVERY_S
    # Results are ids and outcomes; never the arguments' text in a log line.
    log_results = False


#: What Redis being away looks like from the client.
REDIS_DOWN = (RedisError, OSError, asyncio.TimeoutError)


class QanatWorker(Worker):
    """arq's worker, made to outlast outages and to give up a dead worker's jobs fast.

    - Redis away: the poll loop waits with back-off and carries on when it is back
      (arq's own loop would exit); the health key is not renewed meanwhile.
    - The store away: the health key is withdrawn until it answers again; the jobs
      themselves retry (``qanat.pipeline`` sees the outage and asks for a retry).
    - A job's claim on Redis lasts :data:`LEASE_S` and is renewed every
      :data:`RENEW_EVERY_S` while the job runs, so a worker killed with ``kill -9``
      leaves its jobs to another within about half a minute, however long a job may run.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.in_progress_timeout_s = LEASE_S
        self._renewed_at = 0.0
        self._outage_tries = 0

    async def main(self) -> None:
        """Connect (waiting for Redis if it is down), then run arq's loop."""
        while self._pool is None:
            try:
                self._pool = await create_pool(
                    self.redis_settings,
                    job_deserializer=self.job_deserializer,
                    job_serializer=self.job_serializer,
                    default_queue_name=self.queue_name,
                    expires_extra_ms=self.expires_extra_ms,
                )
            except REDIS_DOWN as exc:
                await self._queue_away(exc)
        await super().main()

    async def _poll_iteration(self) -> None:
        self._drop_finished_jobs()
        try:
            await super()._poll_iteration()
            await self._renew_claims()
        except REDIS_DOWN as exc:
            await self._queue_away(exc)
            return
        if self._outage_tries:
            log.info("Redis is back after %s tries", self._outage_tries)
            self._outage_tries = 0
            self._recount_slots()
            await self._sweep_now()

    async def _sweep_now(self) -> None:
        """Sweep at once after an outage: what was saved meanwhile was never queued (and
        a Redis that restarted empty lost what was)."""
        if f"cron:{sweep_waiting.__name__}" in self.functions:
            job_id = f"cron:{sweep_waiting.__name__}:after-outage:{int(time.time())}"
            await self.pool.enqueue_job(f"cron:{sweep_waiting.__name__}", _job_id=job_id)

    def _drop_finished_jobs(self) -> None:
        """Forget finished jobs here, so one that could not record its end (Redis away)
        is logged once, not raised from the poll loop once per job, each costing a wait."""
        for job_id, task in list(self.tasks.items()):
            if not task.done():
                continue
            del self.tasks[job_id]
            error = None if task.cancelled() else task.exception()
            if error is not None:
                log.warning("job %s could not finish (%s)", job_id, type(error).__name__)

    async def _queue_away(self, exc: BaseException) -> None:
        wait = backoff(self._outage_tries)
        self._outage_tries += 1
        log.warning("Redis is unreachable (%s); trying again in %ss", type(exc).__name__, wait)
        await asyncio.sleep(wait)

    def _recount_slots(self) -> None:
        """Job slots as the running jobs say: a poll cut short by the outage may have
        taken a slot for a job it never started."""
        running = [task for task in self.tasks.values() if not task.done()]
        self.job_counter = len(running)
        # Each running job holds a slot, which its end gives back.
        # Unbounded: the running jobs' ends give their slots back to this new count.
        self.sem = asyncio.Semaphore(self.max_jobs + 1 - len(running))  # type: ignore[assignment]

    async def _renew_claims(self) -> None:
        now = time.monotonic()
        if now - self._renewed_at < RENEW_EVERY_S or not self.job_tasks:
            return
        self._renewed_at = now
        async with self.pool.pipeline(transaction=False) as pipe:
            for job_id in list(self.job_tasks):
                pipe.pexpire(in_progress_key_prefix + job_id, LEASE_S * 1000)
            await pipe.execute()

    async def record_health(self) -> None:
        """Renew the health key only while the store answers too."""
        now = time.time()
        if now - self._last_health_check < self.health_check_interval:
            return
        runtime = self.ctx.get("runtime")
        if runtime is not None and not await runtime.db.reachable():
            self._last_health_check = now
            log.warning("the store is unreachable: this worker reports unhealthy")
            await self.pool.delete(self.health_check_key)
            return
        await super().record_health()
