"""Reading answers to "is it fixed?" in Arabic, English, digits and emoji."""

from __future__ import annotations

import pytest

from qanat.normalize.answers import Verdict, classify_answer


@pytest.mark.parametrize(
    ("text", "score"),
    [("5", 5), ("٥", 5), ("4", 4), (" 5 ", 5), ("5/5", 5), ("٤ من ٥", 4), ("5.", 5), ("3", 3)],
)
def test_a_score_of_four_or_five_is_satisfied_and_three_is_neutral(text: str, score: int) -> None:
    answer = classify_answer(text)
    assert answer.score == score
    assert answer.verdict == (Verdict.positive if score >= 4 else Verdict.neutral)
    assert answer.is_answer


@pytest.mark.parametrize("text", ["1", "2", "١", "2/5", "٢"])
def test_a_score_of_one_or_two_says_it_is_not_fixed(text: str) -> None:
    assert classify_answer(text).verdict == Verdict.negative


@pytest.mark.parametrize(
    "text",
    [
        "نعم",
        "نعم، شكراً",
        "ايوه تم",
        "إيه انحلت الحمدلله",
        "تم الإصلاح، مشكورين",
        "تمت",
        "تصلحت شكرا",
        "زين",
        "تمام",
        "يعطيكم العافية",
        "yes",
        "Yes!",
        "YES it's fixed, thank you",
        "fixed",
        "all good thanks",
        "ok",
        "✅",
        "👍",
        "no problem, thanks",
        "Yes 👍",
    ],
)
def test_yes_in_many_words(text: str) -> None:
    assert classify_answer(text).verdict == Verdict.positive, text


@pytest.mark.parametrize(
    "text",
    [
        "لا",
        "لا، ما زالت المشكلة",
        "لا ما زالت المشكلة موجودة",
        "للحين ما تصلحت",
        "ما تصلحت",
        "ما انحلت",
        "مو زين",
        "رجعت المشكلة",
        "المجاري طافحة مرة ثانية وما زالت الريحة",
        "لم يتم الإصلاح",
        "no",
        "No.",
        "still broken",
        "Still broken!",
        "not fixed",
        "it isn't fixed",
        "the pothole is back again",
        "nobody came",
        "❌",
        "👎",
    ],
)
def test_no_in_many_words(text: str) -> None:
    assert classify_answer(text).verdict == Verdict.negative, text


@pytest.mark.parametrize("text", ["STOP", "stop", "إيقاف", "ايقاف", "Stop.", "الغاء"])
def test_stop_opts_out(text: str) -> None:
    answer = classify_answer(text)
    assert answer.verdict == Verdict.stop and not answer.is_answer


@pytest.mark.parametrize(
    "text",
    [
        "",
        "متى بتجون؟",
        "When will someone come to look at the street light on road 45?",
        "السلام عليكم",
        "مرحبا، عندي بلاغ جديد عن حفرة في طريق ٢٨",
        "Thanks for fixing the light, but there is also a new pothole on the next road now",
        "6",
        "10",
        "2026",
    ],
)
def test_anything_else_is_a_follow_up(text: str) -> None:
    answer = classify_answer(text)
    assert answer.verdict == Verdict.none and not answer.is_answer, text
