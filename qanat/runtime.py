"""The runtime object: everything a running qanat process hands to its parts.

Built once at start-up (CLI command, web app lifespan, arq ``on_startup``), never at
import time, and passed in: the store, the job queue, the intake connectors save to,
and the routing rules.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from qanat.config import Settings
from qanat.ingest.accounts import load_accounts
from qanat.ingest.intake import StoreCursors, StoreIntake
from qanat.jobs import ArqQueue, InlineQueue, JobQueue
from qanat.router.rules import RoutingRules, load_rules
from qanat.store import queries
from qanat.store.db import Database

if TYPE_CHECKING:
    from qanat.replies import ReplySender

log = logging.getLogger(__name__)


@dataclass
class Runtime:
    """A running qanat process's shared parts."""

    settings: Settings
    db: Database
    queue: JobQueue = field(init=False)
    intake: StoreIntake = field(init=False)
    cursors: StoreCursors = field(init=False)
    accounts: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    #: Channel name → what sends staff replies on it; a channel without one is by hand.
    senders: dict[str, ReplySender] = field(default_factory=dict)
    _rules: RoutingRules | None = None

    def rules(self) -> RoutingRules:
        """The routing rules in force."""
        if self._rules is None:
            self._rules = load_rules(self.settings.rules_file)
        return self._rules

    def as_job_context(self) -> dict[str, Any]:
        """The ``ctx`` dict jobs receive (arq's shape, also used inline)."""
        return {"runtime": self}


async def start_runtime(settings: Settings, *, inline: bool | None = None) -> Runtime:
    """Connect to the store and the queue, and make sure the rules' departments exist.

    ``inline`` forces in-process jobs; by default they are inline when
    ``QANAT_REDIS_URL`` is unset.
    """

    runtime = Runtime(settings=settings, db=Database.from_url(settings.database_url))
    use_inline = inline if inline is not None else settings.redis_url is None
    if use_inline or settings.redis_url is None:
        context = runtime.as_job_context()
        runtime.queue = InlineQueue(lambda message_id: process_inline(context, message_id))
    else:
        runtime.queue = await ArqQueue.connect(settings.redis_url)
    runtime.intake = StoreIntake(
        runtime.db,
        runtime.queue,
        attachments_dir=settings.attachments_dir,
        attachment_max_bytes=settings.attachment_max_bytes,
    )
    runtime.cursors = StoreCursors(runtime.db)
    runtime.accounts = load_accounts(settings.connectors_file)
    rules = runtime.rules()
    async with runtime.db.writing() as session:
        await queries.sync_departments(
            session,
            departments=[(d.code, d.name_en, d.name_ar, d.email) for d in rules.departments],
        )
    return runtime


async def process_inline(context: dict[str, Any], message_id: int) -> None:
    """Process a message in this process, retrying at once up to ``max_attempts``."""
    from qanat.pipeline import process_message

    runtime: Runtime = context["runtime"]
    for _ in range(runtime.settings.max_attempts):
        outcome = await process_message(context, message_id)
        if outcome.result != "retry":
            return


async def stop_runtime(runtime: Runtime) -> None:
    """Close the queue and the store's connections."""
    await runtime.queue.close()
    await runtime.db.dispose()
