"""The routing decision: each rule type, its reason, the learned fallback, triage."""

from __future__ import annotations

import functools
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from qanat.model import Inbound, Priority, Sender
from qanat.normalize import normalize
from qanat.router.decide import route, rules_are_foreign
from qanat.router.learned import LearnedRouter
from qanat.router.rules import load_rules
from tests.support.routers import trained

RULES = load_rules()
FIXTURES = Path(__file__).parent.parent / "fixtures" / "router"
LEARNED_ONLY = load_rules(FIXTURES / "learned_only.yaml")


def read(text: str, **extra: object) -> object:
    inbound = Inbound(
        channel="sms",
        external_id="1",
        received_at=datetime(2026, 11, 2, tzinfo=UTC),
        sender=Sender(handle="+97333445566"),
        text=text,
        **extra,
    )  # type: ignore[arg-type]
    return normalize(inbound)


@pytest.mark.parametrize(
    ("text", "department", "category", "priority"),
    [
        ("طفح مجاري في مجمع 305 طريق 45", "sewage", "sewage_overflow", Priority.high),
        ("الطفح في المجاري واصل للبيوت", "sewage", "sewage_overflow", Priority.high),
        ("فتحة مجاري مكشوفة بدون غطاء المنهول", "sewage", "open_manhole", Priority.urgent),
        ("حفرة كبيرة في الشارع", "roads", "pothole", Priority.normal),
        ("Huge pothole on Road 915", "roads", "pothole", Priority.normal),
        ("عمود الإنارة طايح والأسلاك مكشوفة", "street_lighting", "fallen_pole", Priority.urgent),
        ("الزبالة متراكمة عند الحاويات", "cleanliness", "garbage", Priority.normal),
        ("بيت مهجور آيل للسقوط", "buildings", "dangerous_building", Priority.urgent),
    ],
)
def test_keywords_pick_department_category_and_priority(
    text: str, department: str, category: str, priority: Priority
) -> None:
    decision = route(read(text), rules=RULES)  # type: ignore[arg-type]
    assert (decision.department, decision.category, decision.priority) == (
        department,
        category,
        priority,
    )
    assert "keyword" in decision.reason and decision.rules_version == RULES.version


def test_the_sender_s_category_decides_first() -> None:
    decision = route(read("مشكلة عند البيت"), rules=RULES, category="open_manhole")  # type: ignore[arg-type]
    assert decision.department == "sewage" and decision.priority == Priority.urgent
    assert decision.reason.startswith("category open_manhole → sewage")


def test_an_upstream_service_code_is_read_as_its_category() -> None:
    decision = route(read("بلاغ من المنظومة الوطنية"), rules=RULES, category="NCS-SWR-01")  # type: ignore[arg-type]
    assert (decision.department, decision.category) == ("sewage", "sewage_overflow")
    assert decision.reason.startswith("service code NCS-SWR-01 → category sewage_overflow")
    assert not decision.needs_triage


def test_an_unknown_category_is_kept_and_flagged_for_triage() -> None:
    decision = route(read("حفرة في الشارع"), rules=RULES, category="legacy_77")  # type: ignore[arg-type]
    assert decision.category == "legacy_77" and decision.needs_triage
    assert decision.department == "roads" and "unknown category 'legacy_77'" in decision.reason


def test_kind_rules_send_suggestions_to_planning_but_not_questions_about_work() -> None:
    suggestion = route(read("أقترح إنشاء ممشى رياضي"), rules=RULES)  # type: ignore[arg-type]
    question = route(read("المجاري طافحة من يومين، متى بتصلحونها؟"), rules=RULES)  # type: ignore[arg-type]
    inquiry = route(read("كيف أقدم على رخصة؟"), rules=RULES)  # type: ignore[arg-type]
    assert suggestion.department == "planning" and suggestion.priority == Priority.low
    assert question.department == "sewage"
    assert inquiry.department in ("call_centre", "buildings")


def test_a_place_routes_general_matters_to_the_area_office() -> None:
    normalized = read("يا جماعة في مشكلة عند البيت في مجمع 228")
    decision = route(normalized, rules=RULES)  # type: ignore[arg-type]
    assert decision.department == "muharraq_office"
    assert "governorate Muharraq → Muharraq municipal office" in decision.reason


def test_nothing_matches_goes_to_the_default_department_for_triage() -> None:
    decision = route(read("مرحبا"), rules=RULES)  # type: ignore[arg-type]
    assert decision.department == "call_centre" and decision.needs_triage
    assert decision.confidence == 0.0


@functools.cache
def arabic_model() -> LearnedRouter:
    """A router trained on qanat's 228 labelled Arabic examples (trained once)."""
    lines = (FIXTURES / "ar_train.jsonl").read_text(encoding="utf-8").splitlines()
    return trained((r["text"], r["department"]) for r in map(json.loads, lines))


def test_the_learned_model_decides_when_no_rule_fires_above_its_threshold() -> None:
    model = arabic_model()
    sure = route(read("رصيف مكسور"), rules=LEARNED_ONLY, model=model)  # type: ignore[arg-type]
    unsure = route(read("شي غريب"), rules=LEARNED_ONLY, model=model)  # type: ignore[arg-type]
    assert sure.department == "roads" and not sure.needs_triage
    assert sure.confidence >= model.threshold and sure.basis == "learned"
    assert sure.suggestion is None
    assert unsure.department == "triage" and unsure.needs_triage and unsure.basis == "default"
    assert unsure.confidence < model.threshold
    assert unsure.suggestion in model.departments  # its best guess, shown to triage


def test_sla_hours_follow_the_most_specific_row() -> None:
    sewage = route(read("طفح مجاري"), rules=RULES)  # type: ignore[arg-type]
    urgent = route(read("فتحة مجاري مكشوفة"), rules=RULES)  # type: ignore[arg-type]
    assert (sewage.first_response_hours, sewage.sla_hours, sewage.sla_clock) == (2, 8, "business")
    assert (urgent.sla_hours, urgent.sla_clock) == (12, "continuous")


def test_a_department_given_by_the_source_decides_and_an_unknown_one_needs_triage() -> None:
    given = route(read("حفرة في الشارع"), rules=RULES, given_department="sewage")  # type: ignore[arg-type]
    unknown = route(read("حفرة"), rules=RULES, given_department="water_authority")  # type: ignore[arg-type]
    assert given.department == "sewage" and not given.needs_triage
    assert given.reason.startswith("department given by the source: sewage")
    assert unknown.department == "water_authority" and unknown.needs_triage


def test_priority_rules_by_words_and_by_kind() -> None:
    words = route(read("حفرة كبيرة عاجل"), rules=RULES)  # type: ignore[arg-type]
    kind = route(read("شكرا لكم على سرعة الاستجابة"), rules=RULES)  # type: ignore[arg-type]
    assert words.priority == Priority.urgent and "words عاجل → urgent" in words.reason
    assert kind.priority == Priority.low and kind.department == "call_centre"


TIE = "الزبالة مرمية على الرصيف"  # one cleanliness word, one roads word


def test_a_keyword_tie_goes_to_the_department_past_tickets_favour() -> None:
    model = trained(
        [
            ("الزبالة ما انشالت", "cleanliness"),
            ("الزبالة عند البيت", "cleanliness"),
            ("حفرة في الشارع", "roads"),
        ]
    )
    without = route(read(TIE), rules=RULES)  # type: ignore[arg-type]
    with_model = route(read(TIE), rules=RULES, model=model)  # type: ignore[arg-type]
    assert without.department == "roads"  # listed first in the file
    assert with_model.department == "cleanliness" and with_model.category == "garbage"


def test_a_confident_learned_guess_can_come_before_the_place_rules() -> None:
    model = trained(
        [
            ("السفلتة انقلعت", "roads"),
            ("السفلتة خربانة", "roads"),
            ("الحديقة يابسة", "parks"),
            ("مراجعة المكتب في المحرق", "muharraq_office"),
        ]
    )
    text = "السفلتة انقلعت في مجمع 228"  # no keyword; a Muharraq block
    after_places = RULES.model_copy(update={"learned_before_places": False})
    assert RULES.learned_before_places  # the sample puts the learned model first
    first = route(read(text), rules=RULES, model=model)  # type: ignore[arg-type]
    second = route(read(text), rules=after_places, model=model)  # type: ignore[arg-type]
    assert first.department == "roads" and first.reason.startswith("learned from past tickets")
    assert second.department == "muharraq_office" and second.basis == "place"


def test_rules_for_departments_the_model_never_saw_yield_to_a_sure_model() -> None:
    # A model trained on another body's departments (as San Diego's groups are to the
    # sample rules): the sample's keyword "حفرة" sends to roads, which it doesn't know.
    model = trained(
        [
            ("حفرة كبيرة في الشارع", "street_division"),
            ("حفرة عميقة قدام البيت", "street_division"),
            ("حفر في الطريق", "street_division"),
            ("سيارة واقفة على الرصيف", "parking"),
            ("سيارة مهملة من شهر", "parking"),
            ("موقف سيارات مسدود", "parking"),
        ]
    )
    sure = route(read("حفرة كبيرة في الشارع"), rules=RULES, model=model)  # type: ignore[arg-type]
    assert sure.department == "street_division" and sure.basis == "learned"
    # A body's model that knows some of its departments: rules for the others apply when
    # it is unsure.
    early = trained([("حفرة", "roads"), ("مجاري", "sewage"), ("سيارة", "parking")], threshold=0.99)
    fallback = route(read("حفرة كبيرة في الشارع"), rules=RULES, model=early)  # type: ignore[arg-type]
    assert fallback.department == "roads" and fallback.basis == "keyword"
    unknown = route(read("عمود الإنارة طايح"), rules=RULES, model=early)  # type: ignore[arg-type]
    assert unknown.department == "street_lighting" and unknown.basis == "keyword"
    # A rule for a department the model knows still wins over the model.
    knows_roads = trained(
        [("حفرة", "street_division"), ("حفر", "street_division"), ("طريق مسدود", "roads")]
    )
    ruled = route(read("حفرة كبيرة في الشارع"), rules=RULES, model=knows_roads)  # type: ignore[arg-type]
    assert ruled.department == "roads" and ruled.basis == "keyword"


def test_rules_lacking_most_of_the_model_s_departments_are_another_body_s_and_never_apply() -> None:
    # San Diego's groups beside the shipped sample rules, which happen to share "parks".
    model = trained(
        [("حفرة", "street_division"), ("سيارة", "parking"), ("حديقة", "parks")], threshold=0.99
    )
    assert rules_are_foreign(RULES, model)
    unsure = route(read("حفرة كبيرة في الشارع"), rules=RULES, model=model)  # type: ignore[arg-type]
    assert unsure.needs_triage and unsure.basis == "default"
    assert unsure.suggestion == "street_division"  # the model's guess, not the sample's roads
    garden = route(read("الحديقة مهملة والعشب طويل"), rules=RULES, model=model)  # type: ignore[arg-type]
    assert garden.basis != "keyword"  # parks is shared by name, not by the rules' keywords
    assert not rules_are_foreign(RULES, trained([("حفرة", "roads"), ("سيارة", "parking")]))
