"""The demo data set: realistic, complete, and valid in the import format."""

from __future__ import annotations

import json
from collections import Counter

from qanat.demo import demo_messages_path
from qanat.interchange import parse_line
from qanat.model import BUILTIN_CHANNELS

EXPECTED_CHANNELS = {
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


def lines() -> list[str]:
    return demo_messages_path().read_text(encoding="utf-8").splitlines()


def test_every_line_is_a_valid_inbound_with_a_unique_source_key() -> None:
    records = [parse_line(line) for line in lines()]
    assert len(records) >= 200
    keys = Counter((r.channel, r.account, r.external_id) for r in records)
    assert keys.most_common(1)[0][1] == 1
    assert {r.channel for r in records} == EXPECTED_CHANNELS
    assert set(BUILTIN_CHANNELS) >= EXPECTED_CHANNELS
    assert all(r.received_at.utcoffset() is not None for r in records)


def test_replies_name_an_earlier_message_of_the_same_sender() -> None:
    seen: dict[str, tuple[str, str]] = {}
    replies = 0
    for line in lines():
        record = json.loads(line)
        for target in record.get("in_reply_to", []):
            replies += 1
            assert seen[target] == (record["channel"], record["sender"]["handle"])
        seen[record["external_id"]] = (record["channel"], record["sender"]["handle"])
    assert replies >= 15


def test_it_reads_like_the_body_s_citizens() -> None:
    records = [parse_line(line) for line in lines()]
    arabic = sum(1 for r in records if any("\u0600" <= ch <= "\u06ff" for ch in r.text))
    assert arabic / len(records) > 0.7  # mostly Arabic, with English and mixed
    assert any("٣" in r.text or "٢" in r.text for r in records)  # Arabic-Indic digits
    assert any(r.category == "legacy_77" for r in records)  # an unknown code, kept
    assert sum(1 for r in records if r.location and r.location.lat) >= 5
