"""``qanat open311 key add|list|revoke``: Open311 clients' API keys.

One key per client (an app, a partner's system), named for it. A key is shown once,
when it is made; the store keeps only its sha256, so a copy of the database lets no
client in. Revoking takes effect at the client's next request.
"""

from __future__ import annotations

import asyncio
import json
from typing import Annotated, Any

import typer

from qanat.cli.common import store_or_exit
from qanat.store import open311 as keys_store
from qanat.store.db import Database
from qanat.store.tables import utcnow

app = typer.Typer(help="Open311 GeoReport v2: clients' API keys.", no_args_is_help=True)
key_app = typer.Typer(help="API keys of Open311 clients.", no_args_is_help=True)
app.add_typer(key_app, name="key")


def _in_store(body: Any, *, create: bool = True) -> Any:
    """Run ``body(session)`` in a write transaction on the migrated store."""
    settings = store_or_exit(create=create)

    async def inside() -> Any:
        db = Database.from_url(settings.database_url)
        try:
            async with db.writing() as session:
                return await body(session)
        finally:
            await db.dispose()

    return asyncio.run(inside())


@key_app.command("add")
def key_add(
    name: str,
    updates: Annotated[
        bool, typer.Option("--updates", help="A partner that may post status updates")
    ] = False,
) -> None:
    """Issue a key for the client NAME and print it (it is not shown again)."""

    async def body(session: Any) -> str:
        _key, secret = await keys_store.create_key(
            session, name=name, created_by_id=None, updates=updates
        )
        return secret

    try:
        secret = _in_store(body)
    except ValueError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(1) from exc
    typer.echo(secret)
    typer.echo(
        f"Open311 key for {name!r}: give it to the client now, it is not shown again.", err=True
    )


@key_app.command("list")
def key_list() -> None:
    """Every client's key: name, prefix, last use, revocation (never the key itself)."""
    for row in _in_store(keys_store.keys, create=False):
        typer.echo(json.dumps(row, ensure_ascii=False))


@key_app.command("revoke")
def key_revoke(name: str) -> None:
    """Revoke the client NAME's key at once."""

    async def body(session: Any) -> bool:
        return await keys_store.revoke_key(session, name=name, now=utcnow())

    if not _in_store(body, create=False):
        typer.echo(f"no live Open311 key named {name!r}", err=True)
        raise typer.Exit(1)
    typer.echo(f"Revoked the Open311 key of {name!r}.", err=True)
