"""The ``qanat`` command: each group of commands lives in its own module of ``qanat.cli``.

Every command reads its settings from ``QANAT_*`` variables at start, so a script can
point any of them at a scratch database with ``QANAT_DATABASE_URL``.
"""

from __future__ import annotations

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
    serving,
    social,
    users,
)

app = typer.Typer(help="qanat — one inbox for every channel citizens use.", no_args_is_help=True)
app.command()(serving.serve)
app.command()(serving.worker)
app.command()(serving.smtp)
app.command()(serving.demo)
app.command("import")(interchange.import_command)
app.command("import-calls")(interchange.import_calls)
app.command()(operations.reconcile)
app.command("normalize")(normalize.normalize_command)
app.add_typer(interchange.export_app, name="export")
app.add_typer(operations.report_app, name="report")
app.add_typer(db.app, name="db")
app.add_typer(users.app, name="user")
app.add_typer(router.app, name="router")
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
