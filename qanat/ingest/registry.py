"""Discovering connectors (entry-point group ``qanat.connectors``) and building them.

qanat's own connectors are registered the same way as third-party ones, in its
pyproject.toml, so there is one code path.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from importlib.metadata import EntryPoint, entry_points
from typing import Any

import httpx
from pydantic import ValidationError

from qanat.errors import ConfigError
from qanat.ingest.base import (
    CAPABILITIES,
    CONTRACT_VERSION,
    Connector,
    ConnectorContext,
    ConnectorSpec,
    CursorStore,
    HealthReporter,
    Intake,
    PollReport,
)
from qanat.ingest.polling import poll_account
from qanat.model import BUILTIN_CHANNELS

log = logging.getLogger(__name__)

GROUP = "qanat.connectors"


@dataclass(frozen=True)
class Refused:
    """An installed connector qanat will not load, and why."""

    name: str
    reason: str


def check_spec(spec: object, *, entry_name: str) -> ConnectorSpec:
    """Validate what an entry point loaded; raise :class:`ConfigError` saying what's wrong."""
    if not isinstance(spec, ConnectorSpec):
        raise ConfigError(f"connector {entry_name!r}: the entry point must name a ConnectorSpec")
    if spec.contract_version != CONTRACT_VERSION:
        raise ConfigError(
            f"connector {spec.name!r} {spec.version} was built for connector contract "
            f"{spec.contract_version}; this qanat speaks contract {CONTRACT_VERSION}"
        )
    unknown = spec.capabilities - CAPABILITIES
    if unknown:
        raise ConfigError(
            f"connector {spec.name!r} declares unknown capabilities {sorted(unknown)}"
        )
    return spec


def discover(
    points: Iterable[EntryPoint] | None = None,
) -> tuple[dict[str, ConnectorSpec], list[Refused]]:
    """Every installed connector that qanat can use, and those it refused (with reasons)."""
    found: dict[str, ConnectorSpec] = {}
    refused: list[Refused] = []
    for point in points if points is not None else entry_points(group=GROUP):
        try:
            spec = check_spec(point.load(), entry_name=point.name)
        except Exception as exc:  # a broken plugin must not stop qanat
            refused.append(Refused(point.name, str(exc)))
            log.error("connector %s refused: %s", point.name, exc)
            continue
        found[spec.name] = spec
    return found, refused


def known_channels(specs: Mapping[str, ConnectorSpec] | None = None) -> list[str]:
    """Every channel qanat takes messages on: its own, then installed connectors' (``specs``,
    or those :func:`discover` finds)."""
    if specs is None:
        specs, _refused = discover()
    return list(dict.fromkeys([*BUILTIN_CHANNELS, *sorted(specs)]))


class _PullOnly:
    """A connector written before ``poll_once`` joined the contract, given the default one
    (:func:`~qanat.ingest.polling.poll_account` over its ``pull``); the rest is its own."""

    def __init__(self, connector: Any, context: ConnectorContext) -> None:
        self._connector, self._context = connector, context

    def __getattr__(self, name: str) -> Any:
        return getattr(self._connector, name)

    async def poll_once(self) -> PollReport:
        """One poll: save each pulled item, then store its cursor."""
        return await poll_account(self._connector, self._context)


def build_connector(spec: ConnectorSpec, context: ConnectorContext) -> Connector:
    """Build one account's connector; one without its own ``poll_once`` gets the default."""
    built = spec.build(context)
    if hasattr(built, "poll_once"):
        return built
    adapted: Connector = _PullOnly(built, context)
    return adapted


def account_config(spec: ConnectorSpec, entry: Mapping[str, Any]) -> Any:
    """An account's settings validated by the connector's model (errors name the account)."""
    try:
        return spec.config_model.model_validate(dict(entry))
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}" for err in exc.errors()
        )
        name = entry.get("account", "?")
        raise ConfigError(f"{spec.name} account {name!r}: {problems}") from exc


def redacted(spec: ConnectorSpec, entry: Mapping[str, Any]) -> dict[str, Any]:
    """An account's settings with its secrets hidden, for listings and logs."""
    return {key: "********" if key in spec.secret_fields else value for key, value in entry.items()}


@dataclass
class Connectors:
    """The connectors of this process: specs, configured accounts, and built instances."""

    specs: dict[str, ConnectorSpec]
    accounts: Mapping[str, list[dict[str, Any]]]
    intake: Intake
    cursors: CursorStore
    health: HealthReporter
    http: httpx.AsyncClient
    clock: Callable[[], datetime]

    def __post_init__(self) -> None:
        self._built: dict[tuple[str, str], Connector] = {}

    def configured(self) -> list[tuple[str, str]]:
        """(connector name, account) of every configured account of an installed connector."""
        return [
            (name, str(entry.get("account", "default")))
            for name, entries in self.accounts.items()
            if name in self.specs
            for entry in entries
        ]

    def get(self, name: str, account: str) -> Connector | None:
        """The connector instance for an account (built once), or None if not configured."""
        key = (name, account)
        if key in self._built:
            return self._built[key]
        spec = self.specs.get(name)
        entry = next(
            (e for e in self.accounts.get(name, []) if str(e.get("account", "default")) == account),
            None,
        )
        if spec is None or entry is None:
            return None
        context = self.context(name, account, account_config(spec, entry))
        self._built[key] = build_connector(spec, context)
        return self._built[key]

    def context(self, name: str, account: str, config: Any) -> ConnectorContext:
        """What a connector for ``account`` is handed: its settings and this process's
        intake, cursors, health, HTTP client and clock."""
        return ConnectorContext(
            channel=name,
            account=account,
            config=config,
            intake=self.intake,
            cursors=self.cursors,
            health=self.health,
            http=self.http,
            clock=self.clock,
        )

    async def close(self) -> None:
        """Close every built connector that holds a connection (an IMAP login, …)."""
        for connector in self._built.values():
            close = getattr(connector, "close", None)
            if close is not None:
                await close()
        self._built.clear()
        await self.http.aclose()

    def with_capability(self, capability: str) -> list[tuple[str, str, Connector]]:
        """Every configured account whose connector declares ``capability``."""
        found = []
        for name, account in self.configured():
            if capability in self.specs[name].capabilities:
                connector = self.get(name, account)
                if connector is not None:
                    found.append((name, account, connector))
        return found
