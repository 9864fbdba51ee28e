"""Where jobs go: arq on Redis in production, or inline in this process.

Both run the same job functions (processing a message, sending a reply or staff mail);
only the transport differs. The inline queue runs a job at once, retrying it in place;
arq runs it on a worker, retrying it later (:mod:`qanat.worker`).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, Protocol

log = logging.getLogger(__name__)

#: The arq function name of the processing job (see ``qanat.worker.WorkerSettings``).
PROCESS_JOB = "process_message"


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

    async def enqueue(self, job: str, *args: Any, job_id: str | None = None) -> None:
        """Run ``job(*args)`` now; its failures are recorded by the job itself."""
        await self._jobs[job](*args)

    async def enqueue_processing(self, message_id: int, *, attempt: int = 0) -> None:
        """Process the message now."""
        await self.enqueue(PROCESS_JOB, message_id)

    async def requeue(self, job: str, *args: Any, job_id: str, again_id: str) -> bool:
        """Run the job now (inline, nothing else can be holding it)."""
        await self.enqueue(job, *args, job_id=job_id)
        return True

    async def close(self) -> None:
        """Nothing to release."""


class ArqQueue:
    """Enqueues jobs on Redis for ``qanat worker`` processes.

    Connects on first use and again after a failure, so a process that starts while
    Redis is down still saves messages (they wait in ``received`` for the nightly
    reconciliation or the next enqueue).
    """

    def __init__(self, redis_url: str) -> None:
        self._redis_url = redis_url
        self._pool: Any = None

    async def _connect(self) -> Any:
        from arq import create_pool
        from arq.connections import RedisSettings

        settings = RedisSettings.from_dsn(self._redis_url)
        settings.conn_retries = 0  # fail fast: the caller keeps the message and moves on
        return await create_pool(settings)

    async def enqueue(self, job: str, *args: Any, job_id: str | None = None) -> None:
        """Queue ``job(*args)`` under ``job_id`` (arq refuses an id it still holds)."""
        if self._pool is None:
            self._pool = await self._connect()
        try:
            await self._pool.enqueue_job(job, *args, _job_id=job_id)
        except Exception:
            await self.close()
            raise

    async def enqueue_processing(self, message_id: int, *, attempt: int = 0) -> None:
        """Queue the processing job with the message id as its id, so it is queued once."""
        await self.enqueue(PROCESS_JOB, message_id, job_id=process_job_id(message_id, attempt))

    async def requeue(self, job: str, *args: Any, job_id: str, again_id: str) -> bool:
        """Queue ``job`` under ``job_id``; when arq refuses that id because the job
        finished (its result is kept) while its work still waits, under ``again_id``."""
        from arq.jobs import Job as ArqJob
        from arq.jobs import JobStatus

        if self._pool is None:
            self._pool = await self._connect()
        try:
            if await self._pool.enqueue_job(job, *args, _job_id=job_id) is not None:
                return True
            status = await ArqJob(job_id, self._pool).status()
            if status != JobStatus.complete:
                return False  # still queued, deferred for a retry, or running: it will run
            return await self._pool.enqueue_job(job, *args, _job_id=again_id) is not None
        except Exception:
            await self.close()
            raise

    async def close(self) -> None:
        """Close the Redis pool."""
        if self._pool is not None:
            pool, self._pool = self._pool, None
            await pool.aclose()
