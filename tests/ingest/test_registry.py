"""Connector discovery, contract versions, and the poll loop on the real store."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import select

from qanat.errors import ChannelUnavailable, ConfigError
from qanat.ingest.base import Pulled
from qanat.ingest.polling import poll_account
from qanat.ingest.registry import check_spec, discover
from qanat.ingest.sms.connector import SPEC as SMS
from qanat.model import Inbound, Sender
from qanat.runtime import Runtime
from qanat.store.tables import ChannelHealth, Message


class FakePoint:
    """Stands in for an importlib EntryPoint."""

    def __init__(self, name: str, load: Any) -> None:
        self.name = name
        self._load = load

    def load(self) -> Any:
        return self._load()


def test_an_incompatible_plugin_is_refused_with_a_clear_message() -> None:
    old = replace(SMS, name="old", contract_version=99)
    with pytest.raises(ConfigError, match="built for connector contract 99; this qanat speaks"):
        check_spec(old, entry_name="old")
    with pytest.raises(ConfigError, match="unknown capabilities"):
        check_spec(replace(SMS, capabilities=frozenset({"teleport"})), entry_name="x")


def test_discovery_keeps_good_plugins_and_reports_broken_ones() -> None:
    def broken() -> Any:
        raise ImportError("No module named 'qanat_fax'")

    points = [
        FakePoint("sms", lambda: SMS),
        FakePoint("fax", broken),
        FakePoint("old", lambda: replace(SMS, name="old", contract_version=0)),
        FakePoint("junk", lambda: object()),
    ]
    found, refused = discover(points)  # type: ignore[arg-type]
    assert list(found) == ["sms"]
    reasons = {r.name: r.reason for r in refused}
    assert "qanat_fax" in reasons["fax"] and "contract 0" in reasons["old"]
    assert "ConnectorSpec" in reasons["junk"]


class FakePoller:
    """A polled source holding three messages, ids 1..3; the cursor is the last id."""

    async def _items(self, cursor: dict[str, Any] | None) -> AsyncIterator[Pulled]:
        start = (cursor or {}).get("last", 0)
        for n in range(start + 1, 4):
            inbound = Inbound(
                channel="fake",
                external_id=f"m{n}",
                received_at=datetime(2026, 11, 2, tzinfo=UTC),
                sender=Sender(handle="u1"),
                text=f"حفرة رقم {n} في طريق 12",
            )
            yield Pulled(inbound, {"last": n})

    def pull(self, cursor: dict[str, Any] | None) -> AsyncIterator[Pulled]:
        return self._items(cursor)


async def test_the_cursor_never_passes_a_message_that_was_not_committed(
    runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_save, calls = runtime.intake.save, []

    async def flaky(inbound: Inbound) -> Any:
        calls.append(inbound.external_id)
        if len(calls) == 2:
            raise ChannelUnavailable("the store cannot save messages now")
        return await real_save(inbound)

    monkeypatch.setattr(runtime.intake, "save", flaky)
    context = runtime.connectors.context("fake", "default", None)
    first = await poll_account(FakePoller(), context)
    assert first.saved == 1 and first.error
    assert await runtime.cursors.get("fake", "default") == {"last": 1}
    second = await poll_account(FakePoller(), context)
    assert second.saved == 2 and second.error is None
    assert await runtime.cursors.get("fake", "default") == {"last": 3}
    async with runtime.db.session() as session:
        ids = (await session.execute(select(Message.external_id))).scalars().all()
        health = (await session.execute(select(ChannelHealth))).scalar_one()
    assert sorted(ids) == ["m1", "m2", "m3"]
    assert health.error_count == 1 and health.consecutive_errors == 0
