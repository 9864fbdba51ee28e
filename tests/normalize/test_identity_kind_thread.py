"""Identity across channels, claimed details, kinds and thread hints."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from qanat.model import Identity, Inbound, Kind, Sender
from qanat.normalize import normalize
from qanat.normalize.identity import normalize_phone, sender_identities
from qanat.normalize.kind import kind_of
from qanat.normalize.text import match_form
from qanat.normalize.thread import ticket_references

KINDS = Path(__file__).parent.parent / "fixtures" / "normalize" / "kinds.jsonl"


@pytest.mark.parametrize(
    ("raw", "e164"),
    [
        ("+973 3344 5566", "+97333445566"),
        ("33445566", "+97333445566"),
        ("٣٣٤٤٥٥٦٦", "+97333445566"),
        ("0097333445566", "+97333445566"),
        ("97333445566", "+97333445566"),
        ("12345", None),
        ("not a phone", None),
    ],
)
def test_phones_become_e164(raw: str, e164: str | None) -> None:
    assert normalize_phone(raw) == e164


def test_the_same_citizen_has_the_same_identities_on_every_channel() -> None:
    sms = sender_identities("sms", Sender(handle="+97333445566"))
    call = sender_identities("call_centre", Sender(handle="x", phone="٣٣٤٤٥٥٦٦"))
    web = sender_identities("web", Sender(handle="web-1", phone="3344 5566", email="A@B.bh"))
    phone = Identity(kind="phone", value="+97333445566")
    assert phone in sms and phone in call and phone in web
    assert Identity(kind="email", value="a@b.bh") in web
    assert sender_identities("telegram", Sender(handle="5550001")) == [
        Identity(kind="telegram", value="5550001")
    ]
    assert sender_identities("whatsapp_business", Sender(handle="w1")) == [
        Identity(kind="whatsapp_business", value="w1")
    ]


def test_details_written_in_the_text_are_claimed_not_identity() -> None:
    inbound = Inbound(
        channel="telegram",
        external_id="1:2",
        received_at="2026-11-02T08:00:00+03:00",
        sender=Sender(handle="5550001"),
        text="اتصلوا علي ٣٣٤٤٥٥٦٦ أو ali@example.bh",
    )
    result = normalize(inbound)
    assert result.identities == [Identity(kind="telegram", value="5550001")]
    assert result.claimed == [
        Identity(kind="phone", value="+97333445566"),
        Identity(kind="email", value="ali@example.bh"),
    ]


def test_kind_accuracy_over_the_labelled_set() -> None:
    rows = [json.loads(line) for line in KINDS.read_text(encoding="utf-8").splitlines()]
    right = sum(kind_of(match_form(r["text"]), r["text"]).value == r["kind"] for r in rows)
    print(f"kinds: n={len(rows)} accuracy={right / len(rows):.3f}")
    assert len(rows) >= 60 and right / len(rows) >= 0.9


def test_thanks_closing_a_complaint_do_not_make_it_a_compliment() -> None:
    text = "للحين ما أحد جا يصلح الحفرة، شكرا"
    assert kind_of(match_form(text), text) == Kind.complaint


@pytest.mark.parametrize(
    ("text", "references"),
    [
        ("بخصوص الشكوى رقم QN-2026-000012", ["QN-2026-000012"]),
        ("qn 2026 ١٢ وبعد QN2026-000045", ["QN-2026-000012", "QN-2026-000045"]),
        ("رقم ٢٠٢٦ فقط", []),
    ],
)
def test_references_in_any_form_become_canonical(text: str, references: list[str]) -> None:
    assert ticket_references(text) == references
