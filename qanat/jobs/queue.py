"""Where processing jobs go: arq on Redis in production, or inline in this process.

Both call the same :func:`qanat.pipeline.process_message`; only the transport differs.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
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


class JobQueue(Protocol):
    """Hands a saved message over for processing."""

    async def enqueue_processing(self, message_id: int, *, attempt: int = 0) -> None:
        """Queue (or run) ``process_message(message_id)``."""
        ...

    async def close(self) -> None:
        """Release connections."""
        ...


class InlineQueue:
    """Runs the job at once, in this process: the embedded default (no Redis)."""

    def __init__(self, run: Callable[[int], Awaitable[Any]]) -> None:
        self._run = run

    async def enqueue_processing(self, message_id: int, *, attempt: int = 0) -> None:
        """Process the message now; errors are recorded by the job itself."""
        await self._run(message_id)

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

    async def enqueue_processing(self, message_id: int, *, attempt: int = 0) -> None:
        """Queue the job with the message id as its id, so it is queued once."""
        if self._pool is None:
            self._pool = await self._connect()
        try:
            await self._pool.enqueue_job(
                PROCESS_JOB, message_id, _job_id=process_job_id(message_id, attempt)
            )
        except Exception:
            await self.close()
            raise

    async def close(self) -> None:
        """Close the Redis pool."""
        if self._pool is not None:
            pool, self._pool = self._pool, None
            await pool.aclose()
