"""``qanat serve``, ``worker``, ``smtp`` and ``demo``: the processes qanat runs."""

from __future__ import annotations

import os
from typing import Annotated, Any

import typer

from qanat.cli.common import console, run, settings_or_exit, store_or_exit, with_runtime
from qanat.config import Settings

LogFormat = Annotated[
    str | None,
    typer.Option(help="text (readable lines) or json (QANAT_LOG_FORMAT; default text)"),
]


def _log_overrides(log_format: str | None) -> dict[str, Any]:
    if log_format is None:
        return {}
    if log_format not in ("text", "json"):
        raise typer.BadParameter("text or json", param_hint="--log-format")
    return {"log_format": log_format}


def serve_app(settings: Settings, *, host: str, port: int, workers: int = 1) -> None:
    """Run the web app under uvicorn with qanat's logging: one line per request (qanat's
    own access log, unless ``QANAT_ACCESS_LOG=0``) and per error; forwarded headers
    believed only from the proxies in ``QANAT_FORWARDED_ALLOW_IPS``. With ``workers``
    above 1, that many processes share the port, each building its app from the
    environment (:func:`qanat.web.app.serve_worker_app`)."""
    import uvicorn

    from qanat.web.app import create_app

    options: dict[str, Any] = {
        "host": host,
        "port": port,
        "log_config": None,  # qanat's handler is on uvicorn's loggers already
        "access_log": False,  # qanat.web.access logs each request, without its query string
        "proxy_headers": True,
        "forwarded_allow_ips": settings.forwarded_allow_ips,
        "server_header": False,
    }
    if workers > 1:
        uvicorn.run("qanat.web.app:serve_worker_app", factory=True, workers=workers, **options)
    else:
        uvicorn.run(create_app(settings), **options)


def _workers_problem(settings: Settings, workers: int) -> str | None:
    if workers <= 1:
        return None
    if settings.is_sqlite:
        return "--workers above 1 needs PostgreSQL (QANAT_DATABASE_URL): SQLite has one writer"
    if settings.smtp_domain_set():
        return "with --workers above 1, run the SMTP listener on its own: qanat smtp"
    return None


def serve(
    host: Annotated[str, typer.Option(help="Address to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port")] = 8000,
    workers: Annotated[
        int, typer.Option(min=1, help="Processes serving the port (above 1: PostgreSQL only)")
    ] = 1,
    forwarded_allow_ips: Annotated[
        str | None,
        typer.Option(
            help="Proxies whose X-Forwarded-For/-Proto are believed: comma list of addresses "
            "or networks, or * (QANAT_FORWARDED_ALLOW_IPS; default 127.0.0.1)",
            show_default=False,
        ),
    ] = None,
    access_log: Annotated[
        bool | None,
        typer.Option(
            "--access-log/--no-access-log",
            help="A line per request, or only errors (QANAT_ACCESS_LOG; default on)",
            show_default=False,
        ),
    ] = None,
    log_format: LogFormat = None,
) -> None:
    """Serve the inbox, the API and the webhooks (jobs inline when QANAT_REDIS_URL is unset)."""
    overrides = _log_overrides(log_format)
    if forwarded_allow_ips is not None:
        overrides["forwarded_allow_ips"] = forwarded_allow_ips
    if access_log is not None:
        overrides["access_log"] = access_log
    settings = store_or_exit(log_level="INFO", **overrides)
    if problem := _workers_problem(settings, workers):
        console.print(f"[red]error:[/red] {problem}")
        raise typer.Exit(2)
    # The worker processes read their settings from the environment: hand them the
    # options given here.
    for name, value in overrides.items():
        os.environ[f"QANAT_{name.upper()}"] = (
            str(value).lower() if value in (True, False) else str(value)
        )
    serve_app(settings, host=host, port=port, workers=workers)


def worker(
    burst: Annotated[bool, typer.Option(help="Stop when the queue is empty")] = False,
    check: Annotated[
        bool, typer.Option("--check", help="Exit 0 if this machine's worker is healthy, else 1")
    ] = False,
    log_format: LogFormat = None,
) -> None:
    """Run an arq worker on QANAT_REDIS_URL (any number of them, on any machines).

    It outlasts Redis and store outages (waiting with back-off) and reports unhealthy
    meanwhile: "qanat worker --check" is the container's health check. It does not
    migrate the store ("qanat db upgrade" or "qanat serve" does): it may start while
    the store is still away."""
    import asyncio

    from arq.worker import async_check_health, get_kwargs

    from qanat.worker import QanatWorker, WorkerSettings, cron_jobs, health_key, redis_settings

    settings = settings_or_exit(log_level="INFO", **_log_overrides(log_format))
    if settings.redis_url is None:
        console.print(
            "[red]error:[/red] QANAT_REDIS_URL is not set: without Redis, jobs run inline "
            "in `qanat serve`"
        )
        raise typer.Exit(2)
    if check:
        code = asyncio.run(async_check_health(redis_settings(settings), health_key()))
        raise typer.Exit(code)
    yield_cpu(settings.worker_nice)
    QanatWorker(
        **get_kwargs(WorkerSettings)  # type: ignore[arg-type]
        | {
            "redis_settings": redis_settings(settings),
            "burst": burst,
            "ctx": {"settings": settings},
            "timezone": settings.tz,
            "cron_jobs": cron_jobs(settings),
            "health_check_key": health_key(),
        }
    ).run()


def yield_cpu(niceness: int) -> None:
    """Lower this process's CPU priority by ``niceness``: a citizen's message waits on
    its acknowledgement, a ticket can wait a moment for processing (where the OS has no
    niceness, nothing changes)."""
    import os

    if niceness and hasattr(os, "nice"):
        os.nice(niceness)


def demo(
    serve_after: Annotated[
        bool, typer.Option("--serve/--no-serve", help="Serve the inbox after the summary")
    ] = True,
    port: Annotated[int, typer.Option(help="Port to serve on")] = 8000,
) -> None:
    """Load a realistic bilingual demo, dated in the last weeks, through the real pipeline
    into the data folder, with a national complaints system beside it; summarise; serve."""
    from qanat.cli import demo_national
    from qanat.demo.run import run_demo
    from qanat.logs import configure_logging

    own_database = "QANAT_DATABASE_URL" not in os.environ  # demo logins only there
    home = settings_or_exit().home
    # The national complaints system beside the demo (a second database in its folder).
    if own_database:
        home.mkdir(parents=True, exist_ok=True)
    national = demo_national.prepare(home, port + 1) if own_database else None
    overrides: dict[str, Any] = {}
    if national is not None and "QANAT_CONNECTORS_FILE" not in os.environ:
        overrides["connectors_file"] = national.connectors
    settings = store_or_exit(**overrides)  # the load is summarised, not logged line by line

    async def body(runtime: Any) -> None:
        await run_demo(runtime, console=console, with_staff=own_database)
        if national is not None:
            await demo_national.exchange(runtime, national, console)

    # Inline even with Redis: each message is processed at its own moment in the story,
    # and the staff work on the tickets it made.
    run(lambda: with_runtime(settings, body, inline=True))
    if serve_after:
        base = f"http://127.0.0.1:{port}"
        if national is not None:
            demo_national.serve_in_background(national)
            console.print(f"National system (Open311): http://127.0.0.1:{port + 1}/open311/v2")
        console.print(f"The inbox: {base}/ (API docs at /docs). Ctrl-C stops.")
        console.print(f"Citizens' complaint form: {base}/report (status: {base}/report/status)")
        console.print(f"Open311 GeoReport v2: {base}/open311/v2/services.json")
        configure_logging(os.environ.get("QANAT_LOG_LEVEL", "INFO"), log_format=settings.log_format)
        serve_app(settings, host="127.0.0.1", port=port)


def smtp(
    host: Annotated[str | None, typer.Option(help="Address (default QANAT_SMTP_HOST)")] = None,
    port: Annotated[int | None, typer.Option(help="Port (default QANAT_SMTP_PORT)")] = None,
) -> None:
    """Receive mail for QANAT_SMTP_DOMAINS over SMTP until stopped (250 only after commit)."""
    from qanat.ingest.email.connector import smtp_options
    from qanat.ingest.email.smtp import run_smtp

    settings = store_or_exit(log_level="INFO")
    if not settings.smtp_domain_set():
        console.print("[red]Set QANAT_SMTP_DOMAINS: qanat is not an open relay.[/red]")
        raise typer.Exit(2)

    async def body(runtime: Any) -> None:
        await run_smtp(
            runtime.intake,
            host or settings.smtp_host,
            port or settings.smtp_port,
            **smtp_options(settings),
        )

    try:
        run(lambda: with_runtime(settings, body))
    except KeyboardInterrupt:
        console.print("SMTP listener stopped.")
