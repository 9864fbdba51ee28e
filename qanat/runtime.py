"""The runtime object: everything a running qanat process hands to its parts.

Built once at start-up (CLI command, web app lifespan, arq ``on_startup``), never at
import time, and passed in: the store, the job queue, the intake connectors save to,
the routing rules and the dedupe index.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx

from qanat.config import Settings
from qanat.dedupe.live import LiveIndex
from qanat.dedupe.pair_model import PairModelFile
from qanat.errors import ConfigError
from qanat.ingest.accounts import load_accounts
from qanat.ingest.health import HealthRecorder
from qanat.ingest.intake import StoreCursors, StoreIntake
from qanat.ingest.registry import Connectors, discover
from qanat.jobs.batching import process_and_notify
from qanat.jobs.queue import PROCESS_BATCH_JOB, PROCESS_JOB, ArqQueue, InlineQueue, Job, JobQueue
from qanat.outbound.deps import (
    FORWARD_REQUEST,
    SEND_REPLY,
    SEND_STAFF_MAIL,
    SEND_UPSTREAM_UPDATE,
    Delivery,
    ReplySender,
)
from qanat.outbound.forwarding import deliver_forward
from qanat.outbound.replies import deliver_reply
from qanat.outbound.staff_mail import deliver_staff_mail
from qanat.outbound.upstream import deliver_upstream_update
from qanat.pipeline import Result
from qanat.router.learned import LearnedRouter, ModelFile
from qanat.router.rules import RoutingRules, RulesSource, parse_rules
from qanat.store import canned, queries, rules_versions
from qanat.store.db import Database
from qanat.store.tables import utcnow

log = logging.getLogger(__name__)


@dataclass
class Runtime:
    """A running qanat process's shared parts."""

    settings: Settings
    db: Database
    queue: JobQueue = field(init=False)
    intake: StoreIntake = field(init=False)
    cursors: StoreCursors = field(init=False)
    health: HealthRecorder = field(init=False)
    connectors: Connectors = field(init=False)
    accounts: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    rules_source: RulesSource | None = None
    router_model: LearnedRouter | None = None
    model_file: ModelFile | None = None
    #: This process's dedupe candidate index, loaded at the first decision or start-up.
    dedupe: LiveIndex = field(default_factory=LiveIndex)
    #: Channel name → what sends staff replies on it (overrides the channel's connector).
    senders: dict[str, ReplySender] = field(default_factory=dict)

    def rules(self) -> RoutingRules:
        """The routing rules in force (reloaded when the file changes)."""
        if self.rules_source is None:
            self.rules_source = RulesSource(self.settings.rules_file)
        return self.rules_source.current()

    async def refresh_rules(self) -> RoutingRules:
        """Put the newest rules version saved in the store in force, when it changed.

        Every process calls this as it starts and then every minute (workers' cron, the
        web app's watcher); the page that saves a version calls it at once.
        """
        source = self.rules_source or RulesSource(self.settings.rules_file)
        self.rules_source = source
        async with self.db.session() as session:
            newest = await rules_versions.latest_id(session)
            if newest is None or newest == source.stored_id:
                return self.rules()
            row = await rules_versions.latest(session)
        assert row is not None and row.id is not None
        try:
            rules = parse_rules(row.text, f"rules version {row.id}", base=source.path.parent)
        except ConfigError as exc:  # checked before saving; a bad row keeps what runs now
            log.error("stored rules version %s does not check: %s", row.id, exc)
            return self.rules()
        source.use_stored(rules, row.id)
        return rules

    def learned_model(self) -> LearnedRouter | None:
        """The learned routing model (re-read when ``qanat router train`` rewrites it)."""
        if self.model_file is not None:
            self.router_model = self.model_file.current() or self.router_model
        return self.router_model

    def sender_for(self, channel: str, account: str) -> ReplySender | None:
        """What delivers a reply on a channel account: a registered sender, else the
        account's connector when it can send; None means staff deliver it by hand."""
        if channel in self.senders:
            return self.senders[channel]
        spec = self.connectors.specs.get(channel)
        if spec is None or "send" not in spec.capabilities:
            return None
        return self.connectors.get(channel, account)

    def as_job_context(self) -> dict[str, Any]:
        """The ``ctx`` dict jobs receive (arq's shape, also used inline)."""
        return {"runtime": self}


async def start_runtime(settings: Settings, *, inline: bool | None = None) -> Runtime:
    """Connect to the store and the queue, and make sure the rules' departments exist.

    ``inline`` forces in-process jobs; by default they are inline when
    ``QANAT_REDIS_URL`` is unset.
    """

    database = Database.from_url(settings.database_url, **settings.pool_options())
    runtime = Runtime(settings=settings, db=database)
    use_inline = inline if inline is not None else settings.redis_url is None
    if use_inline or settings.redis_url is None:
        runtime.queue = InlineQueue(inline_jobs(runtime))
    else:
        runtime.queue = ArqQueue(settings.redis_url)
    runtime.intake = StoreIntake(
        runtime.db,
        runtime.queue,
        attachments_dir=settings.attachments_dir,
        attachment_max_bytes=settings.attachment_max_bytes,
    )
    runtime.cursors = StoreCursors(runtime.db)
    runtime.health = HealthRecorder(runtime.db)
    runtime.accounts = load_accounts(settings.connectors_file)
    specs, _refused = discover()  # refusals are logged; `qanat connectors list` shows them
    runtime.connectors = Connectors(
        specs=specs,
        accounts=runtime.accounts,
        intake=runtime.intake,
        cursors=runtime.cursors,
        health=runtime.health,
        http=httpx.AsyncClient(timeout=httpx.Timeout(30.0)),
        clock=utcnow,
    )
    runtime.rules()
    rules = await runtime.refresh_rules()
    runtime.dedupe.model_file = PairModelFile(settings.dedupe_model_file)
    runtime.dedupe.snapshot = settings.dedupe_snapshot_file
    if settings.router_model_file is not None:
        runtime.model_file = ModelFile(settings.router_model_file)
        runtime.learned_model()
    async with runtime.db.writing() as session:
        await queries.sync_departments(
            session,
            departments=[(d.code, d.name_en, d.name_ar, d.email) for d in rules.departments],
        )
        await canned.ensure_defaults(session)
    return runtime


async def process_inline(runtime: Runtime, message_id: int, *, tried: int = 0) -> None:
    """Process a message in this process, retrying at once up to ``max_attempts`` tries
    (``tried``: already made)."""
    for _ in range(runtime.settings.max_attempts - tried):
        (outcome,) = await process_and_notify(runtime, [message_id])
        if outcome.result != Result.retry:
            break


async def process_inline_batch(runtime: Runtime, message_ids: list[int]) -> None:
    """Process messages in this process as one batch; a message to try again gets its
    remaining tries on its own."""
    for outcome in await process_and_notify(runtime, message_ids):
        if outcome.result == Result.retry:
            await process_inline(runtime, outcome.message_id, tried=1)


@asynccontextmanager
async def importing(runtime: Runtime) -> AsyncIterator[None]:
    """Around the saving of many messages (``qanat import``, ``qanat dedupe replay``):
    where jobs run inline, messages are processed in batches of ``QANAT_BATCH_SIZE``, as a
    worker would, rather than each as it is saved; with a worker nothing changes."""
    if isinstance(runtime.queue, InlineQueue):
        async with runtime.queue.in_batches(runtime.settings.batch_size):
            yield
    else:
        yield


def inline_jobs(runtime: Runtime) -> dict[str, Job]:
    """The jobs as the inline queue runs them: at once, each retry straight after the last
    (the worker's arq jobs wait between tries instead; see :mod:`qanat.worker`)."""

    async def process(message_id: int) -> None:
        await process_inline(runtime, message_id)

    async def send_reply(message_id: int) -> None:
        for _ in range(runtime.settings.send_attempts):
            if await deliver_reply(runtime, message_id) != Delivery.retry:
                return

    async def send_staff_mail(
        to: list[str], subject: str, text: str, html: str | None = None
    ) -> None:
        for attempt in range(1, runtime.settings.send_attempts + 1):
            outcome = await deliver_staff_mail(runtime, to, subject, text, html, attempt=attempt)
            if outcome != Delivery.retry:
                return

    def with_retries(deliver: Any) -> Job:
        async def job(row_id: int) -> None:
            for _ in range(runtime.settings.send_attempts):
                if await deliver(runtime, row_id) != Delivery.retry:
                    return

        return job

    async def process_batch(message_ids: list[int]) -> None:
        await process_inline_batch(runtime, message_ids)

    return {
        PROCESS_JOB: process,
        PROCESS_BATCH_JOB: process_batch,
        SEND_REPLY: send_reply,
        SEND_STAFF_MAIL: send_staff_mail,
        SEND_UPSTREAM_UPDATE: with_retries(deliver_upstream_update),
        FORWARD_REQUEST: with_retries(deliver_forward),
    }


async def stop_runtime(runtime: Runtime) -> None:
    """Keep the dedupe index for the next start, close the queue and the store's connections."""
    if runtime.dedupe.loaded:
        try:
            async with runtime.db.session() as session:
                await runtime.dedupe.save(session)
        except Exception as exc:  # a store that is down: the next start loads from it instead
            log.warning("the dedupe index was not kept (%s)", type(exc).__name__)
    await runtime.queue.close()
    await runtime.connectors.close()
    await runtime.db.dispose()
