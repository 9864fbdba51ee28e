"""The connector contract kit: the checks every built-in connector passes, for plugin authors.

Subclass :class:`ConnectorContractTests` in your test suite, give it your spec, an
account's settings and a few recorded deliveries, and pytest runs the contract:

- the spec is one this qanat accepts (contract version, known capabilities);
- the same delivery twice stores one message (idempotent by external id);
- nothing is acknowledged when the store cannot commit;
- a forged delivery is refused and stores nothing;
- an unknown event is acknowledged (2xx) and stores nothing;
- a malformed delivery is dead-lettered with a reason (or refused with BadPayload);
- a poller's cursor only moves past messages that were committed;
- an outbound reply comes back with the channel's id for it;
- capability flags are honest (a connector that claims ``list`` must list).

The kit runs each check with ``asyncio.run`` and in-memory stand-ins for qanat's store,
so it works under any pytest configuration and needs no database.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any, ClassVar

import httpx
import pytest

from qanat.errors import BadPayload, ChannelUnavailable, ForgedRequest
from qanat.ingest.base import (
    Connector,
    ConnectorContext,
    ConnectorSpec,
    SaveResult,
    WebhookRequest,
    WebhookResponse,
)
from qanat.ingest.registry import account_config, build_connector, check_spec
from qanat.model import Inbound, Reply


class MemoryIntake:
    """An in-memory intake: idempotent like the store, and able to fail like it.

    Set ``down`` to fail every save as a store outage would, ``fail_after`` to let that
    many saves through first, or put external ids in ``failing`` to fail only those.
    ``attempts`` counts calls and ``threads`` records which thread made each.
    """

    def __init__(self) -> None:
        self.messages: dict[tuple[str, str, str], tuple[Inbound, str, str | None]] = {}
        self.fail_after: int | None = None  # saves allowed before the store "goes down"
        self.down = False
        self.failing: set[str] = set()
        self.attempts = 0
        self.threads: list[int] = []
        self.deliveries: list[tuple[str, str]] = []

    def _key(self, inbound: Inbound) -> tuple[str, str, str]:
        return (inbound.channel, inbound.account, inbound.external_id)

    def _check_up(self, inbound: Inbound) -> None:
        self.attempts += 1
        self.threads.append(threading.get_ident())
        if self.down or inbound.external_id in self.failing:
            raise ChannelUnavailable("the store cannot save messages now (test)")
        if self.fail_after is not None:
            if self.fail_after <= 0:
                raise ChannelUnavailable("the store cannot save messages now (test)")
            self.fail_after -= 1

    def inbounds(self) -> list[Inbound]:
        """Every committed message, in order."""
        return [inbound for inbound, _state, _reason in self.messages.values()]

    def dead_letters(self) -> dict[tuple[str, str, str], str]:
        """The reason of every message committed as a dead letter, by its key."""
        return {
            key: reason or ""
            for key, (_inbound, state, reason) in self.messages.items()
            if state == "dead_letter"
        }

    async def _commit(self, inbound: Inbound, state: str, reason: str | None) -> SaveResult:
        self._check_up(inbound)
        key = self._key(inbound)
        if key in self.messages:
            return SaveResult(list(self.messages).index(key) + 1, False)
        self.messages[key] = (inbound, state, reason)
        return SaveResult(len(self.messages), True)

    async def save(self, inbound: Inbound) -> SaveResult:
        """Store as ``received``."""
        return await self._commit(inbound, "received", None)

    async def dead_letter(self, inbound: Inbound, reason: str) -> SaveResult:
        """Store as ``dead_letter`` with the reason."""
        return await self._commit(inbound, "dead_letter", reason)

    async def hold(self, inbound: Inbound, reason: str) -> SaveResult:
        """Store as ``ignored`` with the reason."""
        return await self._commit(inbound, "ignored", reason)

    async def edit(self, inbound: Inbound) -> SaveResult:
        """Replace the stored message's text (or store it, when new)."""
        key = self._key(inbound)
        if key not in self.messages:
            return await self.save(inbound)
        self._check_up(inbound)
        _old, state, reason = self.messages[key]
        self.messages[key] = (inbound, state, reason)
        return SaveResult(list(self.messages).index(key) + 1, False)

    async def stored_texts(
        self, channel: str, account: str, external_ids: Sequence[str]
    ) -> dict[str, str]:
        """Texts of the stored messages named."""
        return {
            key[2]: value[0].text
            for key, value in self.messages.items()
            if key[0] == channel and key[1] == account and key[2] in external_ids
        }

    async def record_delivery(
        self, channel: str, account: str, external_id: str, status: str, detail: str | None
    ) -> bool:
        """Remember a delivery receipt."""
        self.deliveries.append((external_id, status))
        return True

    def states(self) -> list[str]:
        """The state of every stored message, in order."""
        return [state for _inbound, state, _reason in self.messages.values()]


class MemoryCursors:
    """Watermarks in a dict."""

    def __init__(self) -> None:
        self.values: dict[tuple[str, str], dict[str, Any]] = {}
        self.puts = 0

    async def get(self, channel: str, account: str) -> dict[str, Any] | None:
        """The stored watermark (a copy, as a store would give)."""
        value = self.values.get((channel, account))
        return dict(value) if value is not None else None

    async def put(self, channel: str, account: str, value: dict[str, Any]) -> None:
        """Store the watermark."""
        self.puts += 1
        self.values[(channel, account)] = dict(value)


class MemoryHealth:
    """Health reports in a list."""

    def __init__(self) -> None:
        self.reports: list[tuple[str, str]] = []

    async def success(self, channel: str, account: str) -> None:
        """Record a success."""
        self.reports.append(("success", ""))

    async def failure(self, channel: str, account: str, error: str) -> None:
        """Record a failure."""
        self.reports.append(("failure", error))


class ConnectorContractTests:
    """Subclass in your tests; fill in the class attributes and the delivery hooks."""

    spec: ClassVar[ConnectorSpec]
    account: ClassVar[dict[str, Any]]
    clock_time: ClassVar[datetime] = datetime(2026, 11, 2, 5, 0, tzinfo=UTC)

    # --- hooks to override ---------------------------------------------------------
    def good_delivery(self) -> WebhookRequest | None:
        """A genuine delivery holding exactly one message (None if no webhooks)."""
        return None

    def forged_delivery(self) -> WebhookRequest | None:
        """The same delivery with a wrong signature or secret."""
        return None

    def unknown_event(self) -> WebhookRequest | None:
        """A genuine delivery of an event the connector does not handle."""
        return None

    def malformed_delivery(self) -> WebhookRequest | None:
        """A genuine (correctly signed) delivery whose payload is broken."""
        return None

    def source(self) -> httpx.MockTransport | None:
        """The fake source / API the connector's HTTP client talks to (poll, send, list)."""
        return None

    def reply(self) -> Reply | None:
        """A staff reply to send (None if the connector cannot send)."""
        return None

    # --- the harness ---------------------------------------------------------------
    def build(self) -> tuple[Connector, MemoryIntake, MemoryCursors, MemoryHealth]:
        """A connector for ``account`` with in-memory stand-ins."""
        intake, cursors, health = MemoryIntake(), MemoryCursors(), MemoryHealth()
        transport = self.source() or httpx.MockTransport(lambda _r: httpx.Response(404))
        context = ConnectorContext(
            channel=self.spec.name,
            account=str(self.account.get("account", "default")),
            config=account_config(self.spec, self.account),
            intake=intake,
            cursors=cursors,
            health=health,
            http=httpx.AsyncClient(transport=transport),
            clock=lambda: self.clock_time,
        )
        return build_connector(self.spec, context), intake, cursors, health

    def deliver(self, request: WebhookRequest, times: int = 1) -> tuple[Any, MemoryIntake]:
        """Deliver ``request`` ``times`` times; the last answer (or error) and the intake."""
        connector, intake, _cursors, _health = self.build()

        async def run() -> Any:
            answer: Any = None
            for _ in range(times):
                try:
                    answer = await connector.receive(request)
                except (ForgedRequest, BadPayload, ChannelUnavailable) as exc:
                    answer = exc
            return answer

        return asyncio.run(run()), intake

    # --- the contract ----------------------------------------------------------------
    def test_spec_is_accepted(self) -> None:
        """The spec targets this contract and declares only known capabilities."""
        check_spec(self.spec, entry_name=self.spec.name)
        account_config(self.spec, self.account)

    def test_same_delivery_twice_stores_one_message(self) -> None:
        """A retried webhook is stored once."""
        request = self._need(self.good_delivery(), "webhook delivery")
        answer, intake = self.deliver(request, times=2)
        assert isinstance(answer, WebhookResponse) and 200 <= answer.status < 300, answer
        assert intake.states() == ["received"]

    def test_nothing_is_acknowledged_when_the_store_is_down(self) -> None:
        """With the store down, the connector raises instead of answering 2xx."""
        request = self._need(self.good_delivery(), "webhook delivery")
        connector, intake, _cursors, _health = self.build()
        intake.fail_after = 0
        with pytest.raises(ChannelUnavailable):
            asyncio.run(connector.receive(request))

    def test_forged_delivery_is_refused_and_stores_nothing(self) -> None:
        """A wrong signature is ForgedRequest, and nothing is kept."""
        request = self._need(self.forged_delivery(), "webhook")
        answer, intake = self.deliver(request)
        assert isinstance(answer, ForgedRequest), answer
        assert intake.messages == {}

    def test_unknown_event_is_acknowledged_and_stores_nothing(self) -> None:
        """An unhandled event type answers 2xx (so the source stops retrying)."""
        request = self._need(self.unknown_event(), "unknown event")
        answer, intake = self.deliver(request)
        assert isinstance(answer, WebhookResponse) and 200 <= answer.status < 300, answer
        assert intake.messages == {}

    def test_malformed_delivery_is_dead_lettered_or_refused(self) -> None:
        """A broken payload is kept as a dead letter with its reason, or refused (400)."""
        request = self._need(self.malformed_delivery(), "malformed delivery")
        answer, intake = self.deliver(request)
        if isinstance(answer, BadPayload):
            assert intake.messages == {} and str(answer)
            return
        assert isinstance(answer, WebhookResponse) and 200 <= answer.status < 300, answer
        assert intake.states() == ["dead_letter"]
        assert all(reason for _i, _s, reason in intake.messages.values())

    def poll(self, connector: Connector) -> None:
        """One poll, the way qanat's worker runs it: the connector's ``poll_once``."""
        asyncio.run(connector.poll_once())

    def test_cursor_moves_only_past_committed_messages(self) -> None:
        """A store failure mid-poll loses nothing: the next polls bring the rest, once.

        Had the watermark moved past the message that failed, the second poll would
        miss it. The source must hold at least two messages.
        """
        if "poll" not in self.spec.capabilities:
            pytest.skip(f"{self.spec.name} does not poll")
        connector, intake, _cursors, health = self.build()
        try:
            intake.fail_after = 1
            self.poll(connector)
            assert len(intake.messages) == 1
            assert any(kind == "failure" for kind, _ in health.reports)
            intake.fail_after = None
            self.poll(connector)
            total = len(intake.messages)
            assert total >= 2
            self.poll(connector)
            assert len(intake.messages) == total  # nothing twice
        finally:
            self.close(connector)

    @staticmethod
    def close(connector: Connector) -> None:
        """Release what a connector holds open (an IMAP login, …)."""
        close = getattr(connector, "close", None)
        if close is not None:
            asyncio.run(close())

    def test_replies_come_back_with_the_channel_id(self) -> None:
        """``send`` returns the id the channel gave our message."""
        reply = self._need(self.reply() if "send" in self.spec.capabilities else None, "send")
        connector, _intake, _cursors, _health = self.build()
        sent = asyncio.run(connector.send(reply))
        assert sent.external_id

    def test_capabilities_are_honest(self) -> None:
        """What is declared works; ``list`` returns ids."""
        connector, _intake, _cursors, _health = self.build()
        if "list" in self.spec.capabilities:
            try:
                ids = asyncio.run(connector.list_since(self.clock_time))
            finally:
                self.close(connector)
            assert isinstance(ids, list) and all(isinstance(i, str) for i in ids)
        if "webhook" in self.spec.capabilities:
            assert self.good_delivery() is not None, "declares webhook but gives no delivery"
        if "send" in self.spec.capabilities:
            assert self.reply() is not None, "declares send but gives no reply to send"

    def _need(self, value: Any, what: str) -> Any:
        if value is None:
            pytest.skip(f"{self.spec.name}: the contract kit was given no {what}")
        return value
