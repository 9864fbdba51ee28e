"""The FastAPI application: health, the REST API, and (as they land) inbox pages and webhooks."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from qanat import __version__
from qanat.config import Settings, load_settings
from qanat.errors import (
    BadPayload,
    ChannelUnavailable,
    ForgedRequest,
    NotFound,
    UnsupportedEvent,
)
from qanat.runtime import Runtime, start_runtime, stop_runtime
from qanat.web import api, health, metrics, webhooks


def create_app(settings: Settings | None = None, *, runtime: Runtime | None = None) -> FastAPI:
    """Build the app; the runtime is started in the lifespan unless one is handed in."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if runtime is not None:  # handed in (tests, the demo): its owner closes it
            yield
            return
        app.state.runtime = await start_runtime(settings or load_settings())
        listener = await _start_smtp(app.state.runtime)
        try:
            yield
        finally:
            if listener is not None:
                listener.close()
            await stop_runtime(app.state.runtime)

    app = FastAPI(title="qanat", version=__version__, lifespan=lifespan)
    if runtime is not None:
        app.state.runtime = runtime
    app.include_router(health.router)
    app.include_router(metrics.router)
    app.include_router(webhooks.router)
    app.include_router(api.router, prefix="/api")
    _map_errors(app)
    return app


async def _start_smtp(runtime: Runtime) -> asyncio.Server | None:
    """The SMTP listener, in this process, when ``QANAT_SMTP_DOMAINS`` is set."""
    if not runtime.settings.smtp_domain_set():
        return None
    from qanat.ingest.email_connector import smtp_options
    from qanat.ingest.email_smtp import serve_smtp

    return await serve_smtp(
        runtime.intake,
        runtime.settings.smtp_host,
        runtime.settings.smtp_port,
        **smtp_options(runtime.settings),
    )


def _map_errors(app: FastAPI) -> None:
    # The one place qanat's errors become HTTP status codes.
    codes: dict[type[Exception], int] = {
        UnsupportedEvent: 200,  # acknowledged (and logged) so the source stops retrying
        BadPayload: 400,
        ForgedRequest: 403,
        NotFound: 404,
        ChannelUnavailable: 503,
    }
    for error, code in codes.items():

        async def handler(_request: Request, exc: Exception, code: int = code) -> JSONResponse:
            return JSONResponse({"detail": str(exc)}, status_code=code)

        app.add_exception_handler(error, handler)
