"""``qanat social …``: setting a Telegram bot's webhook, and polling an account by hand.

The worker's cron polls every configured account each minute; these commands are for
setting up and for checking an account from a shell.
"""

from __future__ import annotations

import asyncio
import json
from typing import TYPE_CHECKING, Annotated, Any

import typer
from pydantic import BaseModel

from qanat.cli.common import store_or_exit, with_runtime
from qanat.errors import ConfigError, QanatError

if TYPE_CHECKING:
    from qanat.runtime import Runtime

app = typer.Typer(help="Telegram bots and X accounts: webhooks and polls.", no_args_is_help=True)


def account_settings(runtime: Runtime, channel: str, account: str) -> BaseModel:
    """The validated settings of one configured account (ConfigError when absent or wrong)."""
    from qanat.ingest.telegram.connector import TelegramAccount
    from qanat.ingest.x.account import XAccount

    model: type[BaseModel] = TelegramAccount if channel == "telegram" else XAccount
    for entry in runtime.accounts.get(channel, []):
        if str(entry.get("account")) == account:
            try:
                return model.model_validate(entry)
            except ValueError as exc:
                raise ConfigError(f"{channel} account {account!r}: {exc}") from exc
    raise ConfigError(f"no {channel} account {account!r} in QANAT_CONNECTORS_FILE")


def _run(body: Any) -> Any:
    settings = store_or_exit()
    try:
        return asyncio.run(with_runtime(settings, body))
    except QanatError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from exc


@app.command("telegram-webhook")
def telegram_webhook(
    account: str,
    url: Annotated[str, typer.Argument(help="Public URL of /webhooks/telegram/ACCOUNT")],
) -> None:
    """Tell Telegram to post ACCOUNT's updates to URL, with the account's secret."""
    from qanat.ingest.telegram.connector import TelegramConnector

    async def body(runtime: Runtime) -> bool:
        settings = account_settings(runtime, "telegram", account)
        connector = TelegramConnector(runtime.connectors.context("telegram", account, settings))
        return await connector.set_webhook(url)

    done = _run(body)
    typer.echo(f"telegram {account}: webhook {'set' if done else 'NOT set'} to {url}")


@app.command("poll")
def poll(
    channel: Annotated[str, typer.Argument(help="telegram, x or open311")],
    account: str,
) -> None:
    """Poll one account now; print what was saved as JSON."""
    if channel not in ("telegram", "x", "open311"):
        raise typer.BadParameter("channel is telegram, x or open311")

    async def body(runtime: Runtime) -> Any:
        from qanat.ingest.telegram.connector import TelegramConnector
        from qanat.ingest.x.connector import XConnector

        context = runtime.connectors.context(
            channel, account, account_settings(runtime, channel, account)
        )
        if channel == "telegram":  # whatever the bot's mode: a poll asked for by hand
            return await TelegramConnector(context).poll()
        if channel == "open311":
            from qanat.ingest.open311.connector import Open311Connector

            pulled = await Open311Connector(context).poll_once()
            if pulled is None:
                raise typer.BadParameter(f"open311 account {account!r} is not pulled (poll: false)")
            return pulled
        return await XConnector(context).poll_once()

    report = _run(body)
    typer.echo(json.dumps(report.__dict__, ensure_ascii=False))
    if report.error:
        raise typer.Exit(1)
