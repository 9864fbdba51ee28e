"""``qanat rules``: the routing rules kept in the store (edited on the settings pages),
imported from and exported to their YAML file."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from qanat.cli.common import console, run, settings_or_exit, with_runtime

app = typer.Typer(help="The routing rules in the store: import, export, versions.")


@app.command("import")
def import_rules(
    file: Annotated[Path, typer.Argument(help="A rules file (YAML)")],
    note: Annotated[str, typer.Option("--note", help="Why, for the versions list")] = "",
) -> None:
    """Check FILE as `qanat router check` does and keep it as the rules version in force."""
    from qanat.errors import ConfigError
    from qanat.web import rules_edit

    settings = settings_or_exit()
    try:
        text = file.read_text(encoding="utf-8")
    except OSError as exc:
        console.print(f"[red]{file}: {exc.strerror}[/red]")
        raise typer.Exit(2) from exc

    async def body(runtime: Any) -> str:
        rules = await rules_edit.save(
            runtime, None, text, note=note or f"imported from {file.name}", ip=None, actor="cli"
        )
        return rules.version

    try:
        version = run(lambda: with_runtime(settings, body))
    except ConfigError as exc:
        console.print(f"[red]{str(exc).replace('rules:', f'{file}:', 1)}[/red]")
        raise typer.Exit(1) from exc
    console.print(f"Rules version {version} is in force (workers take it within a minute).")


@app.command("export")
def export_rules(
    file: Annotated[Path | None, typer.Option("--file", help="Write here, not to stdout")] = None,
) -> None:
    """Write the rules in force (the newest saved version, else the file) as YAML."""
    from qanat.web import rules_edit

    settings = settings_or_exit()
    text = run(lambda: with_runtime(settings, rules_edit.current_text))
    if file:
        file.write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)
