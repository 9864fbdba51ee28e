"""Text similarity: letter pieces of the match forms, blind to spelling, word order and
the address, and neutral across languages."""

from __future__ import annotations

from qanat.dedupe.text import cosine, languages_differ, profile, text_similarity
from qanat.normalize.text import match_form


def similarity(a: str, b: str) -> float:
    return text_similarity(match_form(a), match_form(b))


def test_spelling_and_order_do_not_matter_but_the_problem_does() -> None:
    assert similarity("طفح مجاري في مجمع 305", "طَفْحُ المجاري في مُجمّع ٣٠٥") == 1.0
    assert similarity("الماي واقف قدام البيت", "قدام البيت الماي واقف") > 0.9
    assert similarity("حفرة في الشارع", "الإنارة طافية") < 0.3


def test_the_address_is_left_to_the_place() -> None:
    same = similarity("حفرة كبيرة في طريق 530 مجمع 305", "حفرة كبيرة في طريق 912 مجمع 904")
    assert same > 0.85  # the numbers differ; the place compares them


def test_two_languages_share_few_letters_and_are_told_apart() -> None:
    assert similarity("Light pole down", "عمود الإنارة طايح") < 0.1
    assert languages_differ(match_form("Light pole down"), match_form("عمود الإنارة طايح"))
    assert languages_differ(match_form("sewage مجاري طافحة"), match_form("مجاري طافحة"))
    assert not languages_differ(match_form("pothole on the road"), match_form("big pothole"))


def test_greetings_alone_say_nothing() -> None:
    assert similarity("السلام عليكم", "السلام عليكم") == 0.0


def test_profiles_have_unit_length_and_cosine_is_symmetric() -> None:
    a, b = profile(match_form("طفح مجاري")), profile(match_form("مجاري طافحة"))
    assert abs(sum((w * a.scale) ** 2 for w in a.weights.values()) - 1) < 1e-9
    assert cosine(a, b) == cosine(b, a) and 0 < cosine(a, b) < 1
