"""Routing reasons, duplicate evidence and qanat's own reasons, told as sentences.

The reasons come from the real router on the shipped rules, so a change to how the router
words a reason fails here until the pages can say it too.
"""

from __future__ import annotations

from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

import pytest

from qanat.model import Inbound, Location, Sender
from qanat.normalize import normalize
from qanat.router.decide import route
from qanat.router.rules import load_rules
from qanat.web import i18n
from qanat.web.explain import evidence_sentence, reason_sentence, routing_sentences, routing_steps
from qanat.web.names import Names
from tests.support.routers import trained

RULES = load_rules()
NAMES = Names(
    departments={d.code: (d.name_ar, d.name_en) for d in RULES.departments},
    categories={c.code: (c.name_ar, c.name_en) for d in RULES.departments for c in d.categories},
)
MODEL = trained(
    [
        ("حفرة في الشارع", "roads"),
        ("طفح مجاري", "sewage"),
        ("انارة الشارع مطفأة", "street_lighting"),
    ]
    * 5
)


def decide(text: str, **extra: Any) -> str:
    location = extra.pop("location", None)
    inbound = Inbound(
        channel="sms",
        external_id="1",
        received_at=datetime(2026, 11, 2, tzinfo=UTC),
        sender=Sender(handle="+97333445566"),
        text=text,
        location=location,
    )
    return route(normalize(inbound), rules=RULES, **extra).reason


REASONS = {
    "keyword": decide("طفح مجاري في مجمع 305 طريق 45"),
    "category": decide("شيء ما", category="open_manhole"),
    "unknown_category": decide("حفرة", category="legacy_77"),
    "given": decide("أي شيء", given_department="sewage"),
    "place": decide("أحتاج مساعدة في أمر عام", location=Location(block="212")),
    "suggestion": decide("اقترح انشاء حديقة للأطفال"),
    "no_rule": decide("مرحبا"),
    "words": decide("عاجل حفرة كبيرة"),
    # No keyword rule: the model decides, or only suggests when it is unsure.
    "learned": decide("مطفأة", model=MODEL),
    "unsure": decide("شيء ما هنا", model=MODEL),
}


@pytest.mark.parametrize("case", sorted(REASONS))
def test_every_part_the_router_writes_is_understood(case: str) -> None:
    steps = routing_steps(REASONS[case], NAMES)
    assert steps, REASONS[case]
    assert [s for s in steps if s.rule == "other"] == [], REASONS[case]


def sentences(reason: str, language: str) -> list[str]:
    return routing_sentences(
        {"reason": reason},
        t=i18n.translator(language),
        v=lambda value: i18n.value_name(language, value),
        names=NAMES,
        language=language,
    )


def test_a_keyword_reason_reads_in_arabic_with_the_departments_name() -> None:
    arabic = sentences(REASONS["keyword"], "ar")
    assert arabic[0].startswith("الكلمات «") and arabic[0].endswith("تدل على الصرف الصحي")
    assert "Sewage" not in " ".join(arabic) and "sewage" not in " ".join(arabic)
    english = sentences(REASONS["keyword"], "en")
    assert english[0].endswith("point to Sewage and drainage")


def test_a_place_reason_names_the_area_in_arabic() -> None:
    [arabic] = sentences("governorate Muharraq → Muharraq municipal office", "ar")
    assert arabic == "المحافظة المحرق من اختصاص مكتب بلدية المحرق"
    [english] = sentences("governorate Muharraq → Muharraq municipal office", "en")
    assert english == "governorate Muharraq is served by Muharraq municipal office"


def test_a_priority_and_a_kind_are_told_apart_from_a_department() -> None:
    steps = routing_steps("category open_manhole → sewage; category open_manhole → urgent", NAMES)
    assert [s.rule for s in steps] == ["category", "category_priority"]
    assert steps[1].values["priority"] == "urgent"
    [kind] = sentences("suggestion → planning", "ar")
    assert kind == "اقتراح: تذهب إلى التخطيط العمراني"


def test_a_part_no_rule_knows_is_shown_as_written() -> None:
    assert sentences("something new → roads", "ar") == ["something new → roads"]


def test_duplicate_evidence_is_one_sentence_with_place_time_and_wording() -> None:
    ticket = SimpleNamespace(
        block="305", road="45", building=None, area=None, category="sewage_overflow"
    )
    data = {
        "score": 72.4,
        "threshold": 55,
        "by": "dedupe",
        "features": {
            "text": 43.2, "text_whole": 40.0, "same_block": True, "same_road": True,
            "same_category": True, "hours_apart": 0.7, "same_contact": False, "placeless": False,
        },
    }  # fmt: skip
    english = evidence_sentence(
        data, ticket=ticket, t=i18n.translator("en"), names=NAMES, language="en"
    )
    assert english == (
        "same road 45, same block 305 and same category (Sewage overflow); "
        "reported 42 minutes apart; wording 43 % alike (score 72.4, 55 needed)"
    )
    arabic = evidence_sentence(
        data, ticket=ticket, t=i18n.translator("ar"), names=NAMES, language="ar"
    )
    assert arabic.startswith("الطريق نفسه 45 والمجمع نفسه 305 والفئة نفسها")
    assert "بفارق 42 دقيقة" in arabic and "تشابه الصياغة 43٪" in arabic
    assert "same_block" not in arabic and "True" not in arabic


def test_a_link_staff_made_says_so() -> None:
    data = {"by": "staff:supervisor", "score": None}
    t = i18n.translator("ar")
    assert evidence_sentence(data, ticket=None, t=t, names=NAMES, language="ar") == (
        "ربطها أحد الموظفين يدويًا"
    )


@pytest.mark.parametrize(
    ("reason", "arabic", "detail"),
    [
        (
            "no sender for channel app: deliver by hand",
            "لا يوجد إرسال آلي على قناة التطبيق: يُسلّم يدويًا",
            None,
        ),
        ("transferred to roads", "حُوّلت إلى الطرق", None),
        ("complaint, high", "نوع أو أولوية جديدة: شكوى، عالية", None),
        ("empty message: no text, file or place", "رسالة فارغة: لا نص ولا ملف ولا موقع", None),
        ("ValueError: bad", "تعذرت المعالجة (التفاصيل الفنية أدناه)", "ValueError: bad"),
    ],
)  # fmt: skip
def test_reasons_qanat_writes_are_said_in_arabic(
    reason: str, arabic: str, detail: str | None
) -> None:
    said = reason_sentence(
        reason,
        t=i18n.translator("ar"),
        v=lambda value: i18n.value_name("ar", value),
        names=NAMES,
        language="ar",
    )
    assert said == (arabic, detail)


def test_the_learned_models_decision_and_its_unsure_guess_are_told_apart() -> None:
    assert [s.rule for s in routing_steps(REASONS["learned"], NAMES)] == ["learned"]
    assert "unsure" in [s.rule for s in routing_steps(REASONS["unsure"], NAMES)]
    # The guess is named as staff know the department, in each language.
    assert NAMES.department("en", "street_lighting") in " ".join(sentences(REASONS["unsure"], "en"))
    arabic = " ".join(sentences(REASONS["unsure"], "ar"))
    assert NAMES.department("ar", "street_lighting") in arabic and "street_lighting" not in arabic
