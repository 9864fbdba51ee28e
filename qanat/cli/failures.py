"""What a ``qanat`` command says when it cannot go on: one line, never a traceback.

An expected condition (a setting at fault, a database that is absent or down, a file
that cannot be read, Redis unreachable, any :class:`~qanat.errors.QanatError`) is
explained in one line. Anything else is a bug: one line naming the error's type, and
the hint to run again with ``--debug``, which shows the traceback.
"""

from __future__ import annotations

import typer
from rich.text import Text
from typer._click import Context
from typer.core import TyperGroup
from typer.exceptions import TyperException

from qanat.errors import ConfigError, QanatError

#: Exit codes: 1 for a failure, 2 for a setting or an argument at fault (as click does).
FAILED, MISCONFIGURED = 1, 2


def _file_problem(exc: OSError) -> str | None:
    if exc.filename is None or exc.strerror is None:
        return None
    return f"{exc.filename}: {exc.strerror}"


def _redis_problem(exc: Exception) -> str | None:
    module = type(exc).__module__
    if module.startswith("redis") and "Connection" in type(exc).__name__:
        return f"cannot reach Redis (QANAT_REDIS_URL): {str(exc).splitlines()[0]}"
    return None


def explain(exc: Exception, *, database_url: str | None) -> tuple[str, int]:
    """The line to print for ``exc`` and the exit code."""
    from qanat.store.readiness import describe_store_error

    if isinstance(exc, ConfigError):
        return f"Configuration error: {exc}", MISCONFIGURED
    if isinstance(exc, QanatError):
        return str(exc), FAILED
    if database_url is not None:
        reason = describe_store_error(exc, database_url)
        if reason:
            return reason, FAILED
    reason = _redis_problem(exc) or (_file_problem(exc) if isinstance(exc, OSError) else None)
    if reason:
        return reason, FAILED
    return (
        f"qanat stopped on an unexpected error ({type(exc).__name__}). "
        "Run the command again with --debug (qanat --debug …) to see where.",
        FAILED,
    )


class QanatGroup(TyperGroup):
    """The root command group: any failure of a command becomes one line and an exit code
    (``--debug`` or ``QANAT_DEBUG=1`` lets the traceback through instead)."""

    def invoke(self, ctx: Context) -> object:
        """Run the command; explain what it raised."""
        from qanat.cli.common import console, options

        try:
            return super().invoke(ctx)
        except (typer.Exit, typer.Abort, TyperException):
            raise
        except Exception as exc:
            if options.debug:
                raise
            line, code = explain(exc, database_url=options.database_url)
            console.print(Text.assemble(("error: ", "red"), line))
            raise typer.Exit(code) from None
