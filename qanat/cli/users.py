"""``qanat user``: staff accounts and how new tickets reach them."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from qanat.cli.common import console, run, store_or_exit, with_runtime

app = typer.Typer(help="Staff accounts.", no_args_is_help=True)


@app.command("add")
def user_add(
    username: str,
    role: Annotated[
        str, typer.Option(help="agent, supervisor, admin, representative or inspector")
    ],
    name: Annotated[str | None, typer.Option(help="Display name")] = None,
    department: Annotated[str | None, typer.Option(help="Department code")] = None,
    block: Annotated[str | None, typer.Option(help="Block, for representatives")] = None,
    email: Annotated[
        str | None, typer.Option(help="Where alerts (admins) and reports (supervisors) go")
    ] = None,
    password: Annotated[
        str, typer.Option(prompt=True, hide_input=True, confirmation_prompt=True)
    ] = "",
) -> None:
    """Add a member of staff (or a block's community representative)."""
    from qanat.auth import ROLES
    from qanat.store.users import add_user

    if role not in ROLES:
        console.print(f"[red]Unknown role {role!r};[/red] choose one of {', '.join(ROLES)}.")
        raise typer.Exit(2)
    if len(password) < 10:
        console.print("[red]The password must have at least 10 characters.[/red]")
        raise typer.Exit(2)
    settings = store_or_exit()

    async def body(runtime: Any) -> str:
        return await add_user(
            runtime.db,
            username=username,
            role=role,
            display_name=name or username,
            department=department,
            block=block,
            email=email,
            password=password,
        )

    try:
        result = run(lambda: with_runtime(settings, body))
    except ValueError as exc:
        console.print(f"[red]{exc}[/red]")
        raise typer.Exit(1) from exc
    console.print(result)


@app.command("set")
def user_set(
    username: str,
    languages: Annotated[
        str | None, typer.Option(help="Languages they take tickets in: ar, en or ar,en")
    ] = None,
    shift: Annotated[
        str | None, typer.Option(help="HH:MM-HH:MM on working days; '' clears")
    ] = None,
    away_until: Annotated[
        str | None, typer.Option(help="Away until this ISO time (no new tickets until then)")
    ] = None,
    back: Annotated[bool, typer.Option(help="Back from an absence")] = False,
    email: Annotated[str | None, typer.Option(help="For SLA warnings and escalations")] = None,
) -> None:
    """Change how new tickets reach a member of staff (assignment and SLA mail)."""
    from datetime import datetime

    from qanat.router.assign import parse_shift
    from qanat.store.users import set_work_details

    settings = store_or_exit()
    try:
        if shift:
            parse_shift(shift)
        until = datetime.fromisoformat(away_until) if away_until else None
        if until is not None and until.tzinfo is None:
            until = until.replace(tzinfo=settings.tz)
        result = run(
            lambda: with_runtime(
                settings,
                lambda runtime: set_work_details(
                    runtime.db,
                    username=username,
                    languages=None
                    if languages is None
                    else [part.strip() for part in languages.split(",") if part.strip()],
                    shift=shift,
                    away_until=until,
                    back=back,
                    email=email,
                ),
            )
        )
    except ValueError as exc:
        console.print(f"[red]{exc}[/red]")
        raise typer.Exit(1) from exc
    console.print(result)
