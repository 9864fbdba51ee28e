"""The FastAPI application: health, metrics, webhooks, the REST API, the inbox's pages."""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from qanat import __version__
from qanat.config import Settings, load_settings
from qanat.logs import configure_logging
from qanat.runtime import Runtime, start_runtime, stop_runtime
from qanat.web import (
    account_pages,
    admin_pages,
    api,
    api_admin,
    api_inbox,
    app_api,
    coverage,
    dashboard,
    docs,
    entries,
    health,
    inbox_pages,
    inspection_pages,
    inspector_pages,
    live,
    login,
    metrics,
    open311,
    open311_keys,
    open311_updates,
    operations_pages,
    problems,
    public,
    settings_canned,
    settings_notices,
    settings_pages,
    settings_users,
    ticket_field,
    ticket_forms,
    ticket_pages,
    webhooks,
)
from qanat.web.access_log import AccessLog
from qanat.web.guard import RequestGuard
from qanat.web.maps import mount_leaflet
from qanat.web.safety import SecurityHeaders
from qanat.web.templating import STATIC


def serve_worker_app() -> FastAPI:
    """The app of one of ``qanat serve --workers N``'s processes (settings from the
    environment ``qanat serve`` prepared)."""
    settings = load_settings()
    configure_logging(os.environ.get("QANAT_LOG_LEVEL", "INFO"), log_format=settings.log_format)
    # qanat.web.access logs requests (without query strings), not uvicorn's own log.
    uvicorn_access = logging.getLogger("uvicorn.access")
    uvicorn_access.handlers, uvicorn_access.propagate = [], False
    return create_app(settings)


def create_app(settings: Settings | None = None, *, runtime: Runtime | None = None) -> FastAPI:
    """Build the app; the runtime is started in the lifespan unless one is handed in."""
    chosen = runtime.settings if runtime is not None else settings or load_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if runtime is not None:  # handed in (tests, the demo): its owner closes it
            yield
            return
        app.state.runtime = await start_runtime(chosen)
        listener = await _start_smtp(app.state.runtime)
        watcher = _start_sla_watch(app.state.runtime)
        sweeper = _start_sweeper(app.state.runtime)
        rules_watch = asyncio.create_task(_watch_rules(app.state.runtime), name="rules-watch")
        try:
            yield
        finally:
            for task in (watcher, sweeper, rules_watch):
                if task is not None:
                    task.cancel()
            if listener is not None:
                listener.close()
            await stop_runtime(app.state.runtime)

    app = FastAPI(
        title="qanat", version=__version__, lifespan=lifespan, docs_url=None, redoc_url=None
    )
    if runtime is not None:
        app.state.runtime = runtime
    app.add_middleware(RequestGuard)  # inside SecurityHeaders: its 500 gets them too
    app.add_middleware(SecurityHeaders)
    # Added last: outermost, so it times everything.
    app.add_middleware(AccessLog, every_request=chosen.access_log)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    mount_leaflet(app)
    app.include_router(health.router)
    app.include_router(metrics.router)
    app.include_router(webhooks.router)
    app.include_router(open311.router)
    app.include_router(open311_updates.router)
    api_routers = [api_inbox.router, api.router, api_admin.router, app_api.router]
    for api_router in (
        *api_routers,
        entries.api_router,
        coverage.api_router,
        open311_keys.router,
        dashboard.api_router,
        inspection_pages.api_router,
        inspector_pages.api_router,
        ticket_field.api_router,
    ):
        app.include_router(api_router, prefix="/api")
    pages_modules = (login, account_pages, inbox_pages, ticket_pages, ticket_forms, dashboard)
    admin = (
        settings_pages,
        settings_canned,
        settings_notices,
        settings_users,
        admin_pages,
        operations_pages,
    )
    field_pages = (inspector_pages, inspection_pages, ticket_field)
    for pages in (*pages_modules, *admin, coverage, entries, public, *field_pages):
        app.include_router(pages.router)
    app.include_router(live.router)
    app.include_router(docs.router)
    docs.install(app)
    problems.install(app)
    return app


async def _start_smtp(runtime: Runtime) -> asyncio.Server | None:
    """The SMTP listener, in this process, when ``QANAT_SMTP_DOMAINS`` is set."""
    if not runtime.settings.smtp_domain_set():
        return None
    from qanat.ingest.email.connector import smtp_options
    from qanat.ingest.email.smtp import serve_smtp

    return await serve_smtp(
        runtime.intake,
        runtime.settings.smtp_host,
        runtime.settings.smtp_port,
        **smtp_options(runtime.settings),
    )


def _start_sla_watch(runtime: Runtime) -> asyncio.Task[None] | None:
    """SLA warnings and escalations, checked in this process when jobs run inline (with
    Redis, the workers' cron does it)."""
    if runtime.settings.redis_url:
        return None
    from qanat.jobs.sla_watch import watch_sla

    return asyncio.create_task(watch_sla(runtime), name="sla-watch")


def _start_sweeper(runtime: Runtime) -> asyncio.Task[None] | None:
    """Waiting messages and replies queued again every minute, in this process when jobs
    run inline (with Redis, the workers' cron does it)."""
    if runtime.settings.redis_url:
        return None
    from qanat.jobs.sweep import keep_sweeping

    return asyncio.create_task(keep_sweeping(runtime), name="sweeper")


#: Seconds between looks at the store for a rules version saved by another process.
RULES_WATCH_SECONDS = 60.0


async def _watch_rules(runtime: Runtime) -> None:
    """Keep this process on the rules version saved last (another replica may save one)."""
    while True:
        await asyncio.sleep(RULES_WATCH_SECONDS)
        try:
            await runtime.refresh_rules()
        except Exception:  # the store down for a moment: the rules in force stay
            logging.getLogger(__name__).warning("rules refresh failed", exc_info=True)
