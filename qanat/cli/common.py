"""What every ``qanat`` command shares: the console, settings, the store, async bodies.

The root options (``--home``, ``--verbose``, ``--debug``) are kept in :data:`options`
for the whole invocation; :class:`QanatGroup` turns any failure into one line.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import typer
from rich.console import Console

from qanat.config import Settings, load_settings
from qanat.errors import ConfigError

# soft_wrap: error lines stay whole, so scripts can grep them. highlight=False: rich
# would colour the digits inside a reference (QN-2026-000031) apart from its letters.
console = Console(stderr=True, soft_wrap=True, highlight=False)
T = TypeVar("T")


@dataclass
class Options:
    """The root options of this invocation, and the store it was pointed at."""

    home: Path | None = None
    verbose: bool = False
    debug: bool = False
    database_url: str | None = None


options = Options()


def settings_or_exit(*, log_level: str = "WARNING", **overrides: Any) -> Settings:
    """Load the settings, or exit with the reason naming the variable at fault.

    Also sets up logging (``QANAT_LOG_LEVEL`` wins over the command's default) and, with
    ``--verbose``, says which data folder and database the command uses.
    """
    from qanat.logs import configure_logging

    if options.home is not None:
        overrides.setdefault("home", options.home)
    try:
        settings = load_settings(**overrides)
    except ConfigError as exc:
        console.print(f"[red]Configuration error:[/red] {exc}")
        raise typer.Exit(2) from exc
    configure_logging(os.environ.get("QANAT_LOG_LEVEL", log_level), log_format=settings.log_format)
    options.database_url = settings.database_url
    if options.verbose:
        from qanat.store.readiness import redacted

        console.print(
            f"qanat: data folder {settings.home.resolve()}, database "
            f"{redacted(settings.database_url)}",
            markup=False,
        )
    return settings


def store_or_exit(*, create: bool = True, log_level: str = "WARNING", **overrides: Any) -> Settings:
    """The settings, with the store reachable and migrated (one clear line when it is not).

    ``create=False`` is for commands that only read: they refuse a database that was
    never made instead of making an empty one.
    """
    from qanat.store.readiness import prepare_store

    settings = settings_or_exit(log_level=log_level, **overrides)
    prepare_store(settings.database_url, create=create)
    return settings


def run(coroutine_factory: Callable[[], Coroutine[Any, Any, T]]) -> T:
    """Run an async command body to completion."""
    return asyncio.run(coroutine_factory())


async def with_runtime(
    settings: Settings,
    body: Callable[[Any], Coroutine[Any, Any, T]],
    *,
    inline: bool | None = None,
) -> T:
    """Run ``body(runtime)`` with a started runtime, stopped afterwards whatever happens
    (``inline=True``: jobs run in this process even when QANAT_REDIS_URL is set)."""
    from qanat.runtime import start_runtime, stop_runtime

    runtime = await start_runtime(settings, inline=inline)
    try:
        return await body(runtime)
    finally:
        await stop_runtime(runtime)
