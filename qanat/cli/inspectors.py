"""``qanat inspector areas NAME BLOCKS``: the blocks a field inspector covers (new
inspections there go to them first, the least loaded of them)."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from qanat.cli.common import console, run, settings_or_exit, with_runtime

app = typer.Typer(help="Field inspectors.", no_args_is_help=True)


@app.command("areas")
def areas(
    username: str,
    blocks: Annotated[str, typer.Argument(help="Blocks and ranges: 301-319,905")],
) -> None:
    """Set the blocks an inspector covers (replacing those before)."""
    from qanat.errors import BadPayload
    from qanat.store import inspections, staff

    settings = settings_or_exit()

    async def body(runtime: Any) -> str:
        wanted = inspections.parse_blocks(blocks)
        async with runtime.db.writing() as session:
            person = await staff.user_named(session, username=username)
            if person is None or person.id is None or person.role != inspections.INSPECTOR:
                raise BadPayload(
                    f"{username!r} is not an inspector (qanat user add --role inspector)"
                )
            await inspections.set_areas(session, user_id=person.id, blocks=wanted)
        return f"{username} covers {len(wanted)} blocks."

    try:
        console.print(run(lambda: with_runtime(settings, body)))
    except BadPayload as exc:
        console.print(f"[red]{exc}[/red]")
        raise typer.Exit(1) from exc
