"""``qanat db``: the database's migrations."""

from __future__ import annotations

import typer

from qanat.cli.common import console, settings_or_exit

app = typer.Typer(help="The database: migrations.", no_args_is_help=True)


@app.command("upgrade")
def db_upgrade(revision: str = "head") -> None:
    """Apply the migrations to the database in QANAT_DATABASE_URL."""
    from qanat.store.migrate import upgrade

    settings = settings_or_exit()
    upgrade(settings.database_url, revision)
    console.print(f"Database is at revision {revision}.")
