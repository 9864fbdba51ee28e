"""``qanat serve``, ``worker``, ``smtp`` and ``demo``: the processes qanat runs."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Any

import typer

from qanat.cli.common import console, run, settings_or_exit, with_runtime


def serve(
    host: Annotated[str, typer.Option(help="Address to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port")] = 8000,
) -> None:
    """Serve the API (and jobs inline when QANAT_REDIS_URL is unset)."""
    import uvicorn

    from qanat.store.migrate import upgrade
    from qanat.web.app import create_app

    settings = settings_or_exit(log_level="INFO")
    upgrade(settings.database_url)
    # log_config=None: uvicorn's loggers keep qanat's JSON lines (ids only, URL
    # secrets blanked; see qanat.logs), set up by settings_or_exit.
    uvicorn.run(create_app(settings), host=host, port=port, log_level="info", log_config=None)


def worker(
    burst: Annotated[bool, typer.Option(help="Stop when the queue is empty")] = False,
    check: Annotated[
        bool, typer.Option("--check", help="Exit 0 if this machine's worker is healthy, else 1")
    ] = False,
) -> None:
    """Run an arq worker on QANAT_REDIS_URL (any number of them, on any machines).

    It outlasts Redis and store outages (waiting with back-off) and reports unhealthy
    meanwhile: ``qanat worker --check`` is the container's health check."""
    import asyncio

    from arq.worker import async_check_health, get_kwargs

    from qanat.worker import QanatWorker, WorkerSettings, cron_jobs, health_key, redis_settings

    settings = settings_or_exit(log_level="INFO")
    if check:
        code = asyncio.run(async_check_health(redis_settings(settings), health_key()))
        raise typer.Exit(code)
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


def demo(
    folder: Annotated[Path, typer.Option(help="Where the demo database lives")] = Path(
        "qanat-demo"
    ),
    serve_after: Annotated[
        bool, typer.Option("--serve/--no-serve", help="Serve the API after the summary")
    ] = True,
    port: Annotated[int, typer.Option(help="Port to serve on")] = 8000,
) -> None:
    """Load a realistic bilingual demo through the real pipeline, summarise, then serve."""
    from qanat.demo.run import run_demo
    from qanat.store.migrate import upgrade

    overrides: dict[str, Any] = {}
    if "QANAT_DATABASE_URL" not in os.environ:
        folder.mkdir(parents=True, exist_ok=True)
        overrides["database_url"] = f"sqlite+aiosqlite:///{folder.resolve() / 'qanat.db'}"
        overrides["attachments_dir"] = folder / "files"
    settings = settings_or_exit(**overrides)
    upgrade(settings.database_url)
    own_database = "QANAT_DATABASE_URL" not in os.environ  # demo logins only there
    run(
        lambda: with_runtime(
            settings,
            lambda runtime: run_demo(runtime, console=console, with_staff=own_database),
        )
    )
    if serve_after:
        import uvicorn

        from qanat.web.app import create_app

        base = f"http://127.0.0.1:{port}"
        console.print(f"The inbox: {base}/ (API docs at /docs). Ctrl-C stops.")
        console.print(f"Citizens' complaint form: {base}/report (status: {base}/report/status)")
        console.print(f"Open311 GeoReport v2: {base}/open311/v2/services.json")
        uvicorn.run(create_app(settings), host="127.0.0.1", port=port, log_level="warning")


def smtp(
    host: Annotated[str | None, typer.Option(help="Address (default QANAT_SMTP_HOST)")] = None,
    port: Annotated[int | None, typer.Option(help="Port (default QANAT_SMTP_PORT)")] = None,
) -> None:
    """Receive mail for QANAT_SMTP_DOMAINS over SMTP until stopped (250 only after commit)."""
    from qanat.ingest.email.connector import smtp_options
    from qanat.ingest.email.smtp import run_smtp
    from qanat.store.migrate import upgrade

    settings = settings_or_exit(log_level="INFO")
    if not settings.smtp_domain_set():
        console.print("[red]Set QANAT_SMTP_DOMAINS: qanat is not an open relay.[/red]")
        raise typer.Exit(2)
    upgrade(settings.database_url)

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
