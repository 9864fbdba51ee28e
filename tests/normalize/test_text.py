"""The match form: table-driven cases and properties that hold for any string."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from qanat.normalize.text import (
    MAX_MATCH_CHARS,
    clean_for_matching,
    language_of,
    match_form,
    match_tokens,
    strip_prefix,
)

CASES = [
    json.loads(line)
    for line in (Path(__file__).parent.parent / "fixtures" / "normalize" / "match_form.jsonl")
    .read_text(encoding="utf-8")
    .splitlines()
]


@pytest.mark.parametrize("case", CASES, ids=[c["text"][:20] for c in CASES])
def test_match_form_cases(case: dict[str, str]) -> None:
    assert match_form(case["text"]) == case["match"]


def test_what_was_replaced_is_kept_separately() -> None:
    found = clean_for_matching("اتصلوا على +973 3344 5566 أو a.b@x.bh https://x.bh/a @MoW")
    assert found.phones == ["973 3344 5566"] and found.emails == ["a.b@x.bh"]
    assert found.urls == ["https://x.bh/a"] and found.handles == ["@MoW"]


def test_block_and_road_numbers_are_not_taken_for_phones() -> None:
    assert match_form("مجمع 305 طريق 4512 مبنى 1234") == "مجمع 305 طريق 4512 مبني 1234"


def test_hidden_characters_inside_words_are_flagged() -> None:
    assert clean_for_matching("ح\u202eفرة").flags == ["disguised_text"]
    assert clean_for_matching("حفرة").flags == []


def test_very_long_text_is_cut_for_matching_with_a_flag() -> None:
    result = clean_for_matching("حفرة " * 50_000)
    assert "truncated_for_matching" in result.flags
    assert len(result.text) <= MAX_MATCH_CHARS


@pytest.mark.parametrize(
    ("word", "stem"),
    [
        ("والمجاري", "مجاري"),
        ("بالشارع", "شارع"),
        ("للحديقه", "حديقه"),
        ("الحي", "الحي"),
        ("وايد", "وايد"),
        ("ومجاري", "مجاري"),
        ("بيت", "بيت"),
    ],
)
def test_light_prefix_stripping_leaves_short_roots_alone(word: str, stem: str) -> None:
    assert strip_prefix(word) == stem


def test_tokens_drop_stop_words() -> None:
    assert match_tokens(match_form("السلام عليكم في حفرة في الشارع الله يعطيكم العافية")) == [
        "حفره",
        "شارع",
    ]


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("طفح مجاري في مجمع 305", "ar"),
        ("Pothole on Road 2803", "en"),
        ("After the works on Road 5305 الشارع خربان وايد وكله حفر", "mixed"),
        ("3ndna mushkila fi al share3 block 1012", "ar-Latn"),
        ("salam, shino l7al ma3 el-shakwa?", "ar-Latn"),
        ("😡😡😡", "ar"),
    ],
)
def test_language_by_script_share_and_arabizi(text: str, language: str) -> None:
    assert language_of(text) == language


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.characters(codec=None), max_size=300))
def test_match_form_never_raises_and_is_idempotent(text: str) -> None:
    once = match_form(text)
    assert match_form(once) == once
    assert len(once) <= max(len(text) * 3, 10)  # NFKC may expand ligatures, never wildly


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet="ابتثجحخدذرزسشصضطظعغفقكلمنهويىةأإآؤئ ٠١٢٣٤٥٦٧٨٩ًٌٍَُِّْـ", max_size=80))
def test_arabic_spelling_variants_share_one_form(text: str) -> None:
    variant = text.replace("ا", "أ").replace("ي", "ى").replace("ه", "ة")
    assert match_form(variant) == match_form(text)
