"""Telegram updates read into Inbound records, and replies cut to Telegram's limit."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from telegram import Message, Update

from qanat.ingest.telegram.updates import (
    dead_letter_inbound,
    files_of,
    inbound_of,
    split_for_telegram,
    update_kind,
    utf16_len,
)
from qanat.model import Inbound

FIXTURES = Path(__file__).parents[2] / "fixtures" / "telegram"


def update(name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((FIXTURES / f"{name}.json").read_text(encoding="utf-8"))
    return loaded


def read(name: str) -> Inbound:
    data = update(name)
    kind = update_kind(data)
    assert kind is not None
    message = getattr(Update.de_json(data, None), kind)
    assert isinstance(message, Message)
    raw = (FIXTURES / f"{name}.json").read_bytes()
    return inbound_of(
        message, account="bot", update_id=data["update_id"], kind=kind, raw=raw, attachments=[]
    )


def test_an_arabic_text_keeps_its_words_sender_and_time() -> None:
    inbound = read("text_arabic")
    assert inbound.channel == "telegram" and inbound.account == "bot"
    assert inbound.external_id == "5123456789:41"
    assert inbound.text == "السلام عليكم، في تسرب مياه قدام بيتي في مجمع ٣٠٥ طريق ٤٥ من أمس 😞💧"
    assert inbound.sender.handle == "5123456789" and inbound.sender.name == "علي حسن"
    assert inbound.sender.phone is None
    assert inbound.received_at == datetime(2026, 11, 2, 5, 0, tzinfo=UTC)
    assert inbound.metadata["username"] == "ali_hasan_bh"
    assert inbound.metadata["chat_type"] == "private"
    assert inbound.raw == (FIXTURES / "text_arabic.json").read_bytes()
    assert inbound.in_reply_to == [] and inbound.location is None


def test_mixed_arabic_and_english_text_is_kept_whole() -> None:
    inbound = read("text_mixed_arabic_english")
    assert inbound.text == "Street light broken عمود الإنارة طايح at Road 12, Block 338 🙏"
    assert inbound.sender.name == "Sara Al-Khalifa" and inbound.external_id == "6234567890:17"


def test_a_photo_is_fetched_at_its_largest_size_with_the_caption_as_text() -> None:
    data = update("photo_with_caption")
    message = Update.de_json(data, None).message
    assert message is not None
    [photo] = files_of(message)
    assert photo.file_id == "AgACAgQAAxkBAAIBKmdPhoto1280"
    assert photo.content_type == "image/jpeg" and photo.size == 120034
    assert read("photo_with_caption").text == "حفرة كبيرة في الشارع 🚧 طريق ٤٥ مجمع ٣٠٥"


def test_documents_and_voice_notes_keep_their_names_and_types() -> None:
    document = Update.de_json(update("document"), None).message
    voice = Update.de_json(update("voice"), None).message
    assert document is not None and voice is not None
    [pdf] = files_of(document)
    assert (pdf.name, pdf.content_type, pdf.size) == (
        "شكوى - complaint.pdf",
        "application/pdf",
        48213,
    )
    [note] = files_of(voice)
    assert note.name == "voice_AgADVoice01.ogg" and note.content_type == "audio/ogg"
    assert read("voice").text == ""


def test_a_location_becomes_coordinates() -> None:
    location = read("location").location
    assert location is not None
    assert (location.lat, location.lon) == (26.223512, 50.587634)


def test_the_senders_own_contact_is_their_phone() -> None:
    inbound = read("contact_shared")
    assert inbound.sender.phone == "+97333123456"
    assert inbound.metadata["contact"]["phone_number"] == "97333123456"
    assert inbound.text == "علي حسن +97333123456"
    # It answers what came just before it in the chat (our request for a number).
    assert inbound.in_reply_to == ["5123456789:44"]


def test_someone_elses_contact_card_is_not_the_senders_phone() -> None:
    inbound = read("contact_of_someone_else")
    assert inbound.sender.phone is None
    assert inbound.metadata["contact"]["first_name"] == "Plumber Hussain"


def test_a_reply_names_the_message_it_answers_in_the_same_chat() -> None:
    inbound = read("reply_to_our_message")
    assert inbound.in_reply_to == ["5123456789:47"]
    assert inbound.text.endswith("١٠ لترات بالدقيقة تقريباً")


def test_an_edit_keeps_the_messages_id_and_carries_the_edit_time() -> None:
    inbound = read("edited_message")
    assert inbound.external_id == read("text_arabic").external_id
    assert inbound.received_at == datetime(2026, 11, 2, 5, 20, tzinfo=UTC)
    assert "طريق ٤٧ (مو ٤٥)" in inbound.text
    assert inbound.metadata["update_kind"] == "edited_message"


def test_only_messages_and_edits_are_handled() -> None:
    assert update_kind(update("unknown_update_type")) is None
    assert update_kind(update("text_arabic")) == "message"
    assert update_kind(update("edited_message")) == "edited_message"


def test_an_old_format_update_does_not_parse_but_keeps_its_ids_as_a_dead_letter() -> None:
    data = update("malformed_old_format")
    with pytest.raises(TypeError, match="is_bot"):
        Update.de_json(data, None)
    raw = (FIXTURES / "malformed_old_format.json").read_bytes()
    when = datetime(2026, 11, 2, 6, 0, tzinfo=UTC)
    dead = dead_letter_inbound(data, account="bot", raw=raw, received_at=when)
    assert dead.external_id == "40012345:7" and dead.sender.handle == "40012345"
    assert dead.text == "انقطاع الكهرباء في مجمع ٢٢٨ منذ الصباح" and dead.raw == raw


def test_a_dead_letter_without_ids_is_keyed_by_its_update() -> None:
    dead = dead_letter_inbound(
        {"update_id": 9, "message": {"text": 5}},
        account="bot",
        raw=b"{}",
        received_at=datetime(2026, 11, 2, tzinfo=UTC),
    )
    assert dead.external_id == "update:9" and dead.text == "" and dead.sender.handle == "unknown"


def test_utf16_counts_emoji_as_two_units_and_arabic_as_one() -> None:
    assert utf16_len("مرحبا") == 5
    assert utf16_len("😞") == 2
    assert utf16_len("👨‍👩‍👧") == 8  # three emoji, two joiners


def test_a_short_reply_is_one_part() -> None:
    assert split_for_telegram("  تم استلام بلاغكم  ") == ["تم استلام بلاغكم"]
    assert split_for_telegram("   ") == []


def test_a_long_arabic_reply_is_cut_between_words_under_the_limit() -> None:
    text = " ".join(["الشارع"] * 1500)  # 10499 characters
    parts = split_for_telegram(text)
    assert len(parts) == 3
    assert all(utf16_len(part) <= 4096 for part in parts)
    assert all(part.split(" ") == ["الشارع"] * len(part.split(" ")) for part in parts)
    assert " ".join(parts) == text


def test_emoji_are_counted_in_utf16_units_and_never_cut_in_half() -> None:
    text = "😞" * 3000  # 6000 units, no spaces
    parts = split_for_telegram(text)
    assert [utf16_len(p) for p in parts] == [4096, 6000 - 4096]
    assert "".join(parts) == text


def test_a_paragraph_break_is_preferred_to_a_word_break() -> None:
    first = "فقرة أولى " * 300  # about 3000 characters
    second = "second paragraph " * 100
    parts = split_for_telegram(first.strip() + "\n\n" + second.strip(), limit=4096)
    assert parts == [first.strip(), second.strip()]


@given(st.text(alphabet=st.sampled_from("ab مج😞\n"), max_size=300), st.integers(4, 40))
def test_parts_fit_and_keep_every_character_but_the_breaks(text: str, limit: int) -> None:
    parts = split_for_telegram(text, limit=limit)
    assert all(0 < utf16_len(part) <= limit for part in parts)
    squeeze = "".join(text.split())
    assert "".join("".join(part.split()) for part in parts) == squeeze
