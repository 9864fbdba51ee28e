"""The ``qanat`` command: each group of commands lives in its own module of ``qanat.cli``.

Every command reads its settings from ``QANAT_*`` variables at start. By default they
all use one data folder, ``./qanat-data`` (``QANAT_HOME`` or ``--home`` names another),
so the demo, the inbox and every command see the same database and files.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer

from qanat.cli import (
    connectors,
    db,
    dedupe,
    inspectors,
    interchange,
    normalize,
    open311,
    operations,
    router,
    rules,
    serving,
    social,
    status,
    users,
)
from qanat.cli.common import options
from qanat.cli.failures import QanatGroup

app = typer.Typer(
    cls=QanatGroup,
    help="qanat — one inbox for every channel citizens use.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)


@app.callback()
def root(
    home: Annotated[
        Path | None,
        typer.Option(help="The data folder (QANAT_HOME; default ./qanat-data)", show_default=False),
    ] = None,
    verbose: Annotated[
        bool, typer.Option("--verbose", "-v", help="Say which data folder and database are used")
    ] = False,
    debug: Annotated[
        bool, typer.Option("--debug", help="Show the traceback of an unexpected error")
    ] = False,
) -> None:
    """qanat — one inbox for every channel citizens use."""
    options.home = home
    options.verbose = verbose
    options.debug = debug or os.environ.get("QANAT_DEBUG") == "1"
    options.database_url = None


app.command()(serving.serve)
app.command()(serving.worker)
app.command()(serving.smtp)
app.command()(serving.demo)
app.command()(status.status)
app.command()(db.backup)
app.command()(db.restore)
app.command("import")(interchange.import_command)
app.command("import-calls")(interchange.import_calls)
app.command()(operations.reconcile)
app.command("normalize")(normalize.normalize_command)
app.add_typer(interchange.export_app, name="export")
app.add_typer(operations.report_app, name="report")
app.add_typer(db.app, name="db")
app.add_typer(users.app, name="user")
app.add_typer(router.app, name="router")
app.add_typer(rules.app, name="rules")
app.add_typer(dedupe.app, name="dedupe")
app.add_typer(social.app, name="social")
app.add_typer(open311.app, name="open311")
app.add_typer(connectors.app, name="connectors")
app.add_typer(inspectors.app, name="inspector")


def main() -> None:
    """Entry point for ``python -m qanat``."""
    app()


if __name__ == "__main__":
    main()
