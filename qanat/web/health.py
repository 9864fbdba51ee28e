"""``/healthz``: is the store reachable, and the queue when there is one?"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from sqlalchemy import text

from qanat.web.deps import RuntimeDep

router = APIRouter()


@router.get("/healthz")
async def healthz(runtime: RuntimeDep) -> JSONResponse:
    """200 when the store (and Redis, if configured) answer; 503 naming what does not."""
    report: dict[str, Any] = {}
    healthy = True
    try:
        async with runtime.db.session() as session:
            await session.execute(text("SELECT 1"))
        report["database"] = "ok"
    except Exception as exc:
        report["database"] = f"error: {type(exc).__name__}"
        healthy = False
    if runtime.settings.redis_url:
        try:
            from redis.asyncio import Redis

            client = Redis.from_url(runtime.settings.redis_url)
            try:
                await client.ping()
            finally:
                await client.aclose()
            report["redis"] = "ok"
        except Exception as exc:
            report["redis"] = f"error: {type(exc).__name__}"
            healthy = False
    else:
        report["redis"] = "not configured (jobs run inline)"
    return JSONResponse(report, status_code=200 if healthy else 503)
