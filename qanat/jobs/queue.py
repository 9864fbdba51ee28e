"""Where jobs go: arq on Redis in production, or inline in this process.

Both run the same job functions (processing a message, sending a reply or staff mail);
only the transport differs. The inline queue runs a job at once, retrying it in place;
arq runs it on a worker, retrying it later (:mod:`qanat.worker`).
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import asynccontextmanager
from typing import Any, Protocol

log = logging.getLogger(__name__)

#: The arq function name of the processing job (see ``qanat.worker.WorkerSettings``).
PROCESS_JOB = "process_message"
#: The inline job that processes held messages as one batch (:meth:`InlineQueue.in_batches`).
PROCESS_BATCH_JOB = "process_batch"


def process_job_id(message_id: int, attempt: int = 0) -> str:
    """arq job id for processing a message: arq refuses a second job with the same id.

    A retry after a dead letter is a new attempt, so it gets its own id.
    """
    suffix = f":retry{attempt}" if attempt else ""
    return f"{PROCESS_JOB}:{message_id}{suffix}"


#: A job as the inline queue runs it: its arguments in, retries done inside.
Job = Callable[..., Awaitable[Any]]


class JobQueue(Protocol):
    """Hands work over to the jobs: a saved message to process, a reply to send, …"""

    async def enqueue(self, job: str, *args: Any, job_id: str | None = None) -> None:
        """Queue (or run) ``job(*args)``; a ``job_id`` already queued is not queued twice."""
        ...

    async def enqueue_processing(self, message_id: int, *, attempt: int = 0) -> None:
        """Queue (or run) ``process_message(message_id)``."""
        ...

    async def requeue(self, job: str, *args: Any, job_id: str, again_id: str) -> bool:
        """Queue work found waiting (the sweeper): under ``job_id`` unless that job is
        still queued or running; under ``again_id`` when only its finished result is
        held. True when something was queued (or run)."""
        ...

    async def close(self) -> None:
        """Release connections."""
        ...


class InlineQueue:
    """Runs each job at once, in this process: the embedded default (no Redis)."""

    def __init__(self, jobs: Mapping[str, Job]) -> None:
        self._jobs = dict(jobs)
        self._held: list[int] | None = None
        self._batch = 1

    async def enqueue(self, job: str, *args: Any, job_id: str | None = None) -> None:
        """Run ``job(*args)`` now; its failures are recorded by the job itself."""
        await self._jobs[job](*args)

    async def enqueue_processing(self, message_id: int, *, attempt: int = 0) -> None:
        """Process the message now (within :meth:`in_batches`: once a batch waits)."""
        if self._held is None:
            await self.enqueue(PROCESS_JOB, message_id)
            return
        self._held.append(message_id)
        if len(self._held) >= self._batch:
            await self._release()

    @asynccontextmanager
    async def in_batches(self, size: int) -> AsyncIterator[None]:
        """Within the block, saved messages are processed ``size`` at a time, in the order
        they were saved, as a worker processes its batches (an import of thousands: one
        transaction a batch instead of one a message), and what is left at its end. If the
        block fails, what it held stays saved and waiting: the sweeper processes it."""
        self._held, self._batch = [], max(1, size)
        try:
            yield
            await self._release()
        finally:
            self._held, self._batch = None, 1

    async def _release(self) -> None:
        held, self._held = self._held or [], []
        if held:
            await self.enqueue(PROCESS_BATCH_JOB, held)

    async def requeue(self, job: str, *args: Any, job_id: str, again_id: str) -> bool:
        """Run the job now (inline, nothing else can be holding it)."""
        await self.enqueue(job, *args, job_id=job_id)
        return True

    async def close(self) -> None:
        """Nothing to release."""


#: arq's enqueue as one atomic script: refuse an id whose job or result Redis still
#: holds, else store the job and queue it. arq's own ``enqueue_job`` does the same with
#: WATCH / MULTI: three round trips on a connection of its own, on every webhook.
ENQUEUE_SCRIPT = """
if redis.call('EXISTS', KEYS[1], KEYS[2]) > 0 then return 0 end
redis.call('PSETEX', KEYS[1], ARGV[1], ARGV[2])
redis.call('ZADD', KEYS[3], ARGV[3], ARGV[4])
return 1
"""


class ArqQueue:
    """Enqueues jobs on Redis for ``qanat worker`` processes, as arq's ``enqueue_job``
    would (same keys, same job format) in one round trip (:data:`ENQUEUE_SCRIPT`).

    Connects on first use and again after a failure, so a process that starts while
    Redis is down still saves messages (they wait in ``received`` for the nightly
    reconciliation or the next enqueue).
    """

    def __init__(self, redis_url: str) -> None:
        self._redis_url = redis_url
        self._pool: Any = None
        self._script: Any = None

    async def _connect(self) -> Any:
        from arq import create_pool
        from arq.connections import RedisSettings

        settings = RedisSettings.from_dsn(self._redis_url)
        settings.conn_retries = 0  # fail fast: the caller keeps the message and moves on
        return await create_pool(settings)

    async def enqueue(self, job: str, *args: Any, job_id: str | None = None) -> None:
        """Queue ``job(*args)`` under ``job_id`` (an id Redis still holds is refused)."""
        try:
            await self._enqueue(job, args, job_id or uuid.uuid4().hex)
        except Exception:
            await self.close()
            raise

    async def _enqueue(self, job: str, args: tuple[Any, ...], job_id: str) -> bool:
        """True when queued; False when ``job_id`` is still held (queued, or its result)."""
        from arq.constants import job_key_prefix, result_key_prefix
        from arq.jobs import serialize_job

        if self._pool is None:
            self._pool = await self._connect()
            self._script = self._pool.register_script(ENQUEUE_SCRIPT)
        now_ms = int(time.time() * 1000)
        payload = serialize_job(job, args, {}, None, now_ms, serializer=self._pool.job_serializer)
        keys = [job_key_prefix + job_id, result_key_prefix + job_id, self._pool.default_queue_name]
        expires_ms = self._pool.expires_extra_ms
        return bool(await self._script(keys=keys, args=[expires_ms, payload, now_ms, job_id]))

    async def enqueue_processing(self, message_id: int, *, attempt: int = 0) -> None:
        """Queue the processing job with the message id as its id, so it is queued once."""
        await self.enqueue(PROCESS_JOB, message_id, job_id=process_job_id(message_id, attempt))

    async def requeue(self, job: str, *args: Any, job_id: str, again_id: str) -> bool:
        """Queue ``job`` under ``job_id``; when arq refuses that id because the job
        finished (its result is kept) while its work still waits, under ``again_id``."""
        from arq.jobs import Job as ArqJob
        from arq.jobs import JobStatus

        try:
            if await self._enqueue(job, args, job_id):
                return True
            status = await ArqJob(job_id, self._pool).status()
            if status != JobStatus.complete:
                return False  # still queued, deferred for a retry, or running: it will run
            return await self._enqueue(job, args, again_id)
        except Exception:
            await self.close()
            raise

    async def close(self) -> None:
        """Close the Redis pool."""
        if self._pool is not None:
            pool, self._pool, self._script = self._pool, None, None
            await pool.aclose()
