"""``qanat connectors``: installed connectors and their configured accounts."""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer

from qanat.cli.common import console, settings_or_exit
from qanat.errors import ConfigError

app = typer.Typer(help="Channel connectors (built-in and plugins).", no_args_is_help=True)


@app.command("list")
def connectors_list(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON")] = False,
) -> None:
    """Installed connectors: version, capabilities, configured accounts (secrets hidden)."""
    from qanat.ingest.accounts import load_accounts
    from qanat.ingest.registry import discover, redacted

    settings = settings_or_exit()
    specs, refused = discover()
    try:
        accounts = load_accounts(settings.connectors_file)
    except ConfigError as exc:
        console.print(f"[red]{exc}[/red]")
        raise typer.Exit(2) from exc
    rows: list[dict[str, Any]] = [
        {
            "name": spec.name,
            "version": spec.version,
            "contract": spec.contract_version,
            "capabilities": sorted(spec.capabilities),
            "description": spec.description,
            "accounts": [redacted(spec, entry) for entry in accounts.get(spec.name, [])],
        }
        for spec in sorted(specs.values(), key=lambda s: s.name)
    ]
    if as_json:
        print(
            json.dumps(
                {"connectors": rows, "refused": [r.__dict__ for r in refused]}, ensure_ascii=False
            )
        )
        return
    for row in rows:
        names = ", ".join(str(a.get("account")) for a in row["accounts"]) or "no accounts"
        print(f"{row['name']} {row['version']} [{', '.join(row['capabilities'])}] — {names}")
    for refusal in refused:
        print(f"refused {refusal.name}: {refusal.reason}")


@app.command("check")
def connectors_check(name: str) -> None:
    """Validate every configured account of connector NAME and report what is wrong."""
    from qanat.ingest.accounts import load_accounts
    from qanat.ingest.registry import account_config, discover

    settings = settings_or_exit()
    specs, refused = discover()
    for refusal in refused:
        if refusal.name == name:
            console.print(f"[red]{name} is installed but refused: {refusal.reason}[/red]")
            raise typer.Exit(1)
    spec = specs.get(name)
    if spec is None:
        console.print(f"[red]No connector {name!r} is installed[/red] ({', '.join(specs)}).")
        raise typer.Exit(1)
    try:
        entries = load_accounts(settings.connectors_file).get(name, [])
        for entry in entries:
            account_config(spec, entry)
            console.print(f"{name} account {entry.get('account')!r}: configuration is valid")
    except ConfigError as exc:
        console.print(f"[red]{exc}[/red]")
        raise typer.Exit(1) from exc
    if not entries:
        console.print(f"{name}: installed, no account configured in QANAT_CONNECTORS_FILE")
