"""X posts and DMs read into Inbound records; public replies counted and checked."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from qanat.ingest.x.posts import (
    Page,
    dm_inbound,
    dm_predecessors,
    mention_inbound,
    public_reply_problems,
    weighted_length,
)

FIXTURES = Path(__file__).parents[2] / "fixtures" / "x"
OUR_ID = "1306456789012345678"
WHEN = datetime(2026, 11, 2, 6, 0, tzinfo=UTC)


def page(name: str) -> Page:
    answer: dict[str, Any] = json.loads((FIXTURES / name).read_text(encoding="utf-8"))
    return Page.of(answer)


def test_a_page_indexes_its_expansions_and_keeps_the_next_token() -> None:
    first = page("mentions_page1.json")
    assert [item["id"] for item in first.data] == ["1985123456789012803", "1985123456789012601"]
    assert set(first.users) == {"1523456789012345678", "1187654321098765432"}
    assert set(first.places) == {"5c6e9d3b1f2a4e07"}
    assert first.next_token == "7140dibdnow9c7btw4b0vsbfghvgzmq6hq5zgsl0gb2bg"
    assert page("mentions_page2.json").next_token is None
    assert Page.of({"meta": {"result_count": 0}}).data == []


def test_a_mention_keeps_the_author_time_and_arabic_indic_digits() -> None:
    second = page("mentions_page2.json")
    inbound = mention_inbound(
        second.data[0], second, account="moworks", own_id=OUR_ID, fallback_time=WHEN
    )
    assert inbound.external_id == "1985123456789012345" and inbound.channel == "x"
    assert inbound.text.startswith("@MoWorksBH طفح مجاري في مجمع ٣٠٥ طريق ٤٥")
    assert inbound.sender.handle == "1499876543210987654" and inbound.sender.name == "بو أحمد"
    assert inbound.received_at == datetime(2026, 11, 2, 5, 0, tzinfo=UTC)
    assert inbound.metadata["username"] == "bu_ahmed_bh"
    assert inbound.metadata["visibility"] == "public"
    assert inbound.in_reply_to == []  # it starts its own conversation
    raw = json.loads(inbound.raw or b"")
    assert (
        raw["data"]["id"] == inbound.external_id
        and raw["includes"]["users"][0]["name"] == "بو أحمد"
    )


def test_exact_coordinates_win_over_the_tagged_place() -> None:
    first = page("mentions_page1.json")
    exact = mention_inbound(first.data[0], first, account="a", own_id=OUR_ID, fallback_time=WHEN)
    assert exact.location is not None
    assert (exact.location.lat, exact.location.lon) == (26.1296, 50.5577)
    tagged = mention_inbound(first.data[1], first, account="a", own_id=OUR_ID, fallback_time=WHEN)
    assert tagged.location is not None and tagged.location.lat is None
    assert (tagged.location.area, tagged.location.address) == ("Riffa", "Riffa, Kingdom of Bahrain")


def test_a_reply_names_the_post_it_answers_and_its_conversation() -> None:
    reply = page("mentions_reply_in_conversation.json")
    inbound = mention_inbound(reply.data[0], reply, account="a", own_id=OUR_ID, fallback_time=WHEN)
    assert inbound.in_reply_to == ["1985123456789012999", "1985123456789012345"]
    assert inbound.metadata["in_reply_to_user_id"] == OUR_ID


def test_a_place_x_could_not_return_leaves_no_location() -> None:
    partial = page("mentions_errors_partial.json")
    assert partial.errors[0]["resource_type"] == "place"
    inbound = mention_inbound(
        partial.data[0], partial, account="a", own_id=OUR_ID, fallback_time=WHEN
    )
    assert inbound.location is None and "🌧️" in inbound.text


def test_a_post_without_author_cannot_be_read() -> None:
    broken = page("mentions_item_without_author.json")
    with pytest.raises(ValueError, match="no author_id"):
        mention_inbound(broken.data[1], broken, account="a", own_id=OUR_ID, fallback_time=WHEN)
    with pytest.raises(KeyError):
        mention_inbound({"id": "1"}, broken, account="a", own_id=OUR_ID, fallback_time=WHEN)


def test_a_dm_is_keyed_apart_from_posts_and_continues_its_conversation() -> None:
    dms = page("dm_events.json")
    newest = dms.data[0]
    inbound = dm_inbound(
        newest, dms, account="a", previous="1985200000000000905", fallback_time=WHEN
    )
    assert inbound.external_id == "dm:1985200000000000907"
    assert inbound.in_reply_to == ["dm:1985200000000000905"]
    assert inbound.text == "وهذا رقم البلاغ القديم ٤٤٣٢ إذا يفيد"
    assert inbound.sender.name == "Fatima | فاطمة"
    assert inbound.metadata["dm_conversation_id"] == "1306456789012345678-1523456789012345678"
    assert inbound.metadata["visibility"] == "private"


def test_each_dm_follows_the_previous_message_of_its_own_conversation() -> None:
    events = page("dm_events.json").data
    assert dm_predecessors(events, window=timedelta(days=7)) == {
        "1985200000000000905": "1985200000000000903",
        "1985200000000000907": "1985200000000000905",
    }


def test_a_dm_long_after_the_last_one_starts_afresh() -> None:
    events = page("dm_events.json").data
    assert dm_predecessors(events, window=timedelta(minutes=3)) == {
        "1985200000000000907": "1985200000000000905"
    }


@pytest.mark.parametrize(
    ("text", "weight"),
    [
        ("Road 12", 7),
        ("طفح مجاري", 9),  # Arabic letters weigh 1, as Latin ones
        ("مجمع ٣٠٥", 8),
        ("😞", 2),
        ("👍🏽", 2),  # an emoji with a skin tone is one emoji
        ("👨‍👩‍👧", 2),  # a family joined by ZWJ is one emoji
        ("🇧🇭", 2),
        ("道路", 4),
        ("see https://www.works.gov.bh/ar/complaints?id=123456789 now", 4 + 23 + 4),
    ],
)
def test_weighted_length_counts_like_x(text: str, weight: int) -> None:
    assert weighted_length(text) == weight


def test_an_arabic_reply_of_280_letters_fits_and_281_does_not() -> None:
    assert public_reply_problems("ب" * 280, []) == []
    assert public_reply_problems("ب" * 281, []) == ["281 characters (weighted) is over X's 280"]
    assert public_reply_problems("😞" * 141, []) == ["282 characters (weighted) is over X's 280"]


@pytest.mark.parametrize(
    "text",
    [
        "سنتواصل معكم على الرقم 33123456",
        "سنتواصل معكم على الرقم ٣٣١٢ ٣٤٥٦",
        "call +973-3312-3456 please",
        "سنراسلكم على ALI.HASAN@example.BH",
    ],
)
def test_a_public_reply_never_carries_the_citizens_phone_or_email(text: str) -> None:
    problems = public_reply_problems(text, ["+97333123456", "ali.hasan@example.bh", None])
    assert problems and all("citizen's" in problem for problem in problems)


def test_other_numbers_in_a_public_reply_are_fine() -> None:
    text = "تم تحويل بلاغكم QN-2026-000123 بخصوص مجمع 331 طريق 2345 إلى قسم الطرق"
    assert public_reply_problems(text, ["+97333123456"]) == []
