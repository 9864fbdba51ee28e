"""What every ``qanat`` command shares: the console, settings, running async bodies."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

import typer
from rich.console import Console

from qanat.config import Settings, load_settings
from qanat.errors import ConfigError

# soft_wrap: error lines stay whole, so scripts can grep them.
console = Console(stderr=True, soft_wrap=True)
T = TypeVar("T")


def settings_or_exit(*, log_level: str = "WARNING", **overrides: Any) -> Settings:
    """Load the settings, or exit with the reason naming the variable at fault.

    Also sets up JSON logging (``QANAT_LOG_LEVEL`` wins over the command's default).
    """
    from qanat.logs import configure_logging

    configure_logging(os.environ.get("QANAT_LOG_LEVEL", log_level))
    try:
        return load_settings(**overrides)
    except ConfigError as exc:
        console.print(f"[red]Configuration error:[/red] {exc}")
        raise typer.Exit(2) from exc


def run(coroutine_factory: Callable[[], Coroutine[Any, Any, T]]) -> T:
    """Run an async command body to completion."""
    return asyncio.run(coroutine_factory())


async def with_runtime(settings: Settings, body: Callable[[Any], Coroutine[Any, Any, T]]) -> T:
    """Run ``body(runtime)`` with a started runtime, stopped afterwards whatever happens."""
    from qanat.runtime import start_runtime, stop_runtime

    runtime = await start_runtime(settings)
    try:
        return await body(runtime)
    finally:
        await stop_runtime(runtime)
