"""Staff entries: a call is filed under the caller's number; other channels under who logged."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from qanat.errors import BadPayload
from qanat.ingest.staff_entry import StaffEntry, entry_inbound
from qanat.normalize import normalize, sender_identities

NOW = datetime(2026, 11, 3, 9, 30, tzinfo=UTC)


def test_a_logged_call_is_the_callers_number_in_the_language_they_spoke() -> None:
    entry = StaffEntry(
        text="Caller reports a leaning street light on Road 3613, Block 336",
        phone="36002417",
        name="Mohammed Rafiq",
        language="en",
        client_id="call-7",
    )
    inbound = entry_inbound(entry, username="agent_cc", region="BH", now=NOW)
    assert (inbound.channel, inbound.account, inbound.external_id) == (
        "call_centre",
        "staff",
        "agent_cc:call-7",
    )
    assert inbound.sender.handle == "+97336002417" and inbound.received_at == NOW
    assert inbound.metadata == {"logged_by": "agent_cc", "language": "en"}
    assert normalize(inbound).language == "en"


def test_a_majlis_entry_names_who_raised_it_and_for_whom() -> None:
    entry = StaffEntry(
        channel="majlis",
        occurred_at=NOW - timedelta(days=2),
        text="طلب أهالي المجمع رصف الطريق 45",
        name="عبدالله",
        on_behalf_of="أهالي مجمع 305",
        phone="33445566",
        block="305",
    )
    inbound = entry_inbound(entry, username="sup_sewage", region="BH", now=NOW)
    assert inbound.sender.handle == "staff:sup_sewage"
    assert inbound.metadata["on_behalf_of"] == "أهالي مجمع 305"
    assert inbound.received_at == NOW - timedelta(days=2)
    identities = sender_identities(inbound.channel, inbound.sender)
    assert [(i.kind, i.value) for i in identities] == [("phone", "+97333445566")]


def test_a_wrong_number_or_a_future_time_is_refused() -> None:
    with pytest.raises(BadPayload, match="phone number"):
        entry_inbound(StaffEntry(text="x", phone="123"), username="a", region="BH", now=NOW)
    later = StaffEntry(channel="letter", text="x", occurred_at=NOW + timedelta(hours=1))
    with pytest.raises(BadPayload, match="in the future"):
        entry_inbound(later, username="a", region="BH", now=NOW)
