"""A table's row fills the fields that have a default factory itself."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from pydantic.fields import FieldInfo

from qanat.store.tables import Event, Ticket, stamped_at


def test_factory_fields_are_filled_fresh_for_each_row(monkeypatch: pytest.MonkeyPatch) -> None:
    asked = FieldInfo.get_default

    def no_factory(self: FieldInfo, **options: Any) -> Any:
        # pydantic's way costs ~75 µs a field (a signature read at every call).
        assert self.default_factory is None, "a factory left to pydantic"
        return asked(self, **options)

    monkeypatch.setattr(FieldInfo, "get_default", no_factory)
    moment = datetime(2026, 3, 1, 8, 30, tzinfo=UTC)
    with stamped_at(moment):
        first = Ticket(reference="QN-2026-000001", kind="complaint", status="new", channel="sms")
        second = Ticket(reference="QN-2026-000002", kind="complaint", status="new", channel="sms")
        event = Event(ticket_id=1, type="created", actor="pipeline")
    first.flags.append("triage")
    assert (
        second.flags == [] and first.sla_pauses == [] and first.sla_pauses is not second.sla_pauses
    )
    assert first.created_at == first.updated_at == event.at == moment


def test_a_given_value_is_kept() -> None:
    made = datetime(2025, 1, 2, tzinfo=UTC)
    ticket = Ticket(
        reference="QN-2025-000001",
        kind="complaint",
        status="new",
        channel="sms",
        flags=["x"],
        created_at=made,
    )
    assert ticket.flags == ["x"] and ticket.created_at == made
