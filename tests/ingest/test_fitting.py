"""Fitting a message to the store: cut, cleaned and hashed with a note, never refused."""

from __future__ import annotations

from datetime import UTC, datetime

from qanat.ingest.fitting import LIMITS, NOTES_KEY, fit_inbound, fitted_external_id
from qanat.model import Attachment, Inbound, Sender


def inbound(**changes: object) -> Inbound:
    values: dict[str, object] = {
        "channel": "sms",
        "external_id": "SM1",
        "received_at": datetime(2026, 11, 2, tzinfo=UTC),
        "sender": Sender(handle="+97333991177", phone="+97333991177"),
        "text": "طفح مجاري في مجمع 305",
    }
    return Inbound.model_validate(values | changes)


def test_a_message_that_fits_is_returned_as_it_is() -> None:
    message = inbound()
    assert fit_inbound(message) is message


def test_over_long_fields_are_cut_with_a_note_naming_the_field_not_the_value() -> None:
    phone = "+97333991177" + "9" * 60
    fitted = fit_inbound(
        inbound(
            sender=Sender(handle="h", name="ع" * 300, phone=phone, email="a" * 400 + "@x.bh"),
            attachments=[Attachment(name="n" * 400, content_type="image/" + "x" * 200, size=1)],
        )
    )
    assert len(fitted.sender.phone or "") == LIMITS["sender.phone"] == 40
    assert len(fitted.sender.name or "") == 200 and len(fitted.sender.email or "") == 320
    assert len(fitted.attachments[0].name) == 300
    assert len(fitted.attachments[0].content_type) == 120
    notes = fitted.metadata[NOTES_KEY]
    assert "sender.phone: cut from 72 to 40 characters" in notes
    assert not any("99999" in note for note in notes)


def test_nul_and_lone_surrogates_are_replaced_everywhere() -> None:
    fitted = fit_inbound(
        inbound(text="حفرة\x00 كبيرة \ud800", metadata={"to": "800\x00", "deep": [{"x": "\udc80"}]})
    )
    assert fitted.text == "حفرة\ufffd كبيرة \ufffd"
    assert fitted.metadata["to"] == "800\ufffd"
    assert fitted.metadata["deep"] == [{"x": "\ufffd"}]
    fitted.text.encode("utf-8")  # storable now


def test_a_long_external_id_keeps_its_start_and_a_hash_so_redelivery_matches() -> None:
    long_id = "SM" + "a" * 700
    first = fit_inbound(inbound(external_id=long_id)).external_id
    again = fit_inbound(inbound(external_id=long_id)).external_id
    other = fit_inbound(inbound(external_id=long_id + "b")).external_id
    assert first == again != other and len(first) == LIMITS["external_id"]
    assert first.startswith("SMaaa") and fitted_external_id("short") == "short"


def test_metadata_nested_too_deep_is_dropped_with_a_note() -> None:
    deep: object = "bottom"
    for _ in range(40):
        deep = [deep]
    fitted = fit_inbound(inbound(metadata={"deep": deep, "nan": float("nan")}))
    assert any("nested deeper" in note for note in fitted.metadata[NOTES_KEY])
    assert fitted.metadata["nan"] == "nan"
