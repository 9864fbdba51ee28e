"""Which configured connector accounts can list their source, for the nightly gap check."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import datetime

from qanat.ingest.base import Connector
from qanat.jobs.deps import JobDeps
from qanat.jobs.reconcile import SourceLister
from qanat.model import Inbound


@dataclass
class ConnectorLister:
    """A connector account seen as a :class:`~qanat.jobs.reconcile.SourceLister`."""

    channel: str
    account: str
    connector: Connector

    async def list_since(self, since: datetime) -> list[str]:
        """The source's ids since ``since``."""
        return await self.connector.list_since(since)

    def fetch(self, external_ids: Sequence[str]) -> AsyncIterator[Inbound]:
        """The messages with these ids."""
        return self.connector.fetch(external_ids)


def sources_for(deps: JobDeps) -> list[SourceLister]:
    """Every configured account whose connector declares the ``list`` capability.

    A channel without one is reconciled from the store alone (source count n/a).
    """
    return [
        ConnectorLister(name, account, connector)
        for name, account, connector in deps.connectors.with_capability("list")
    ]
