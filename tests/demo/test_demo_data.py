"""The packaged demo file is a valid, coherent import: what `qanat demo` loads."""

from __future__ import annotations

import json
import re
from collections import Counter
from datetime import datetime
from typing import Any

import phonenumbers
import pytest

from qanat.demo import demo_messages_path
from qanat.model import Inbound

NINE_CHANNELS = {
    "x",
    "telegram",
    "email",
    "sms",
    "call_centre",
    "web",
    "app",
    "majlis",
    "field_visit",
}
# An ISO 8601 time that states its own offset (Z or ±HH:MM), never a naive one.
EXPLICIT_OFFSET = re.compile(r"T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$")
TICKET_REFERENCE = re.compile(r"QN-(\d{4})-(\d{6})")


@pytest.fixture(scope="module")
def lines() -> list[str]:
    """The demo file's lines, as `qanat import` reads them."""
    return demo_messages_path().read_text(encoding="utf-8").splitlines()


@pytest.fixture(scope="module")
def raw(lines: list[str]) -> list[dict[str, Any]]:
    """Each line as plain JSON, to check what the file itself says."""
    return [json.loads(line) for line in lines]


@pytest.fixture(scope="module")
def messages(lines: list[str]) -> list[Inbound]:
    """Each line as the pipeline's record."""
    return [Inbound.model_validate_json(line) for line in lines]


def test_every_line_is_an_inbound_record(lines: list[str]) -> None:
    for number, line in enumerate(lines, start=1):
        assert line.strip(), f"line {number} is blank"
        Inbound.model_validate_json(line)


def test_the_set_is_big_enough_to_show_the_inbox(messages: list[Inbound]) -> None:
    assert len(messages) >= 200


def test_all_nine_channels_are_present_with_a_fair_share(messages: list[Inbound]) -> None:
    per_channel = Counter(message.channel for message in messages)
    assert set(per_channel) == NINE_CHANNELS
    assert min(per_channel.values()) >= 10, per_channel


def test_external_ids_are_unique_per_channel_and_account(messages: list[Inbound]) -> None:
    keys = Counter((m.channel, m.account, m.external_id) for m in messages)
    repeated = [key for key, count in keys.items() if count > 1]
    assert repeated == []


def test_received_at_states_its_offset_and_runs_in_file_order(
    raw: list[dict[str, Any]], messages: list[Inbound]
) -> None:
    for record in raw:
        assert EXPLICIT_OFFSET.search(record["received_at"]), record["received_at"]
    times = [message.received_at for message in messages]
    assert times == sorted(times), "the file is processed in order, so it must be in time order"
    assert times[0] >= datetime.fromisoformat("2026-11-01T00:00:00+03:00")
    assert times[-1] < datetime.fromisoformat("2026-11-22T00:00:00+03:00")


def test_every_reply_names_an_earlier_message_of_the_same_sender(
    messages: list[Inbound],
) -> None:
    earlier: dict[tuple[str, str, str], str] = {}
    replies = 0
    for message in messages:
        for replied_id in message.in_reply_to:
            key = (message.channel, message.account, replied_id)
            assert key in earlier, f"{message.external_id} replies to unknown {replied_id}"
            assert earlier[key] == message.sender.handle, message.external_id
            replies += 1
        earlier[(message.channel, message.account, message.external_id)] = message.sender.handle
    assert replies >= 15


def test_quoted_references_point_at_the_senders_own_first_tickets(
    messages: list[Inbound],
) -> None:
    # References are handed out in file order; before the first follow-up every
    # message opens its own ticket, so QN-2026-N is the N-th line there.
    first_reply = next(i for i, m in enumerate(messages) if m.in_reply_to)
    quotes = 0
    for message in messages:
        for year, number in TICKET_REFERENCE.findall(message.text):
            index = int(number) - 1
            assert year == "2026" and index < first_reply, message.external_id
            quoted = messages[index]
            assert (quoted.channel, quoted.sender.handle) == (
                message.channel,
                message.sender.handle,
            )
            assert quoted.received_at < message.received_at
            quotes += 1
    assert quotes >= 1


def test_block_representatives_say_who_and_which_block(messages: list[Inbound]) -> None:
    for message in (m for m in messages if m.channel == "app"):
        assert message.metadata.get("representative"), message.external_id
        assert re.fullmatch(r"\d{3,4}", message.metadata.get("block", "")), message.external_id


def test_coordinates_fall_in_bahrain(messages: list[Inbound]) -> None:
    located = [m.location for m in messages if m.location and m.location.lat is not None]
    assert len(located) >= 20
    for location in located:
        assert location.lat is not None and location.lon is not None
        assert 25.9 <= location.lat <= 26.35 and 50.4 <= location.lon <= 50.7


def test_phone_numbers_are_bahraini_whatever_their_spelling(messages: list[Inbound]) -> None:
    spellings = set()
    for message in (m for m in messages if m.sender.phone):
        assert message.sender.phone is not None
        number = phonenumbers.parse(message.sender.phone, "BH")
        assert phonenumbers.is_valid_number(number), message.sender.phone
        assert number.country_code == 973
        spellings.add(re.sub(r"\d", "9", message.sender.phone))
    assert len(spellings) >= 4, "mixed formats: +973…, 973…, local, spaced, Arabic-Indic"


def test_some_citizens_use_several_channels(messages: list[Inbound]) -> None:
    channels: dict[str, set[str]] = {}
    for message in messages:
        for value in (message.sender.email, message.sender.phone):
            if value is None:
                continue
            if "@" in value:
                key = value.casefold()
            else:
                parsed = phonenumbers.parse(value, "BH")
                key = phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)
            channels.setdefault(key, set()).add(message.channel)
    assert sum(1 for seen in channels.values() if len(seen) >= 2) >= 6


def test_unknown_category_codes_are_carried_as_given(raw: list[dict[str, Any]]) -> None:
    categories = {record.get("category") for record in raw} - {None}
    assert "legacy_77" in categories
    assert {"pothole", "sewage_overflow", "street_light_out", "garbage"} <= categories


def test_emails_have_subjects_and_message_ids(messages: list[Inbound]) -> None:
    for message in (m for m in messages if m.channel == "email"):
        assert message.subject, message.external_id
        assert re.fullmatch(r"<[^<>@\s]+@[^<>@\s]+>", message.external_id), message.external_id
