"""The learned fallback: Arabic word forms, abstaining, saved models, and a measured floor."""

from __future__ import annotations

import json
from pathlib import Path

from qanat.cli.router import decide_text
from qanat.router.evaluate import evaluate
from qanat.router.learned import LEGACY_FEATURES, LearnedRouter, ModelFile, features
from qanat.router.rules import load_rules

FIXTURES = Path(__file__).parent.parent / "fixtures" / "router"


def examples(name: str) -> list[tuple[str, str]]:
    lines = (FIXTURES / name).read_text(encoding="utf-8").splitlines()
    return [(r["text"], r["department"]) for r in map(json.loads, lines)]


def test_features_mark_word_edges_and_count_once() -> None:
    found = features("المجاري المجاري طافحة")
    assert found.count("مجاري") == 1
    assert "#<مج" in found and "#ري>" in found and "#<مجار" in found


def test_short_words_and_their_inflections_share_features() -> None:
    model = LearnedRouter.train(
        [
            ("البيارة طفحت", "sewage"),
            ("طفحت عندنا", "sewage"),
            ("حفرة بالشارع", "roads"),
            ("حفر وايد بالشارع", "roads"),
        ]
    )
    # Neither "طفح" nor "حفرتين" was seen as such: edge-marked n-grams carry them
    # across (whole words and 4-grams of long words alone called both "roads").
    for text, department in (("طفح قدام الباب", "sewage"), ("حفرتين قدام الباب", "roads")):
        guess = model.predict(text)
        assert guess is not None and guess[0] == department and guess[1] >= model.threshold


def test_nothing_familiar_means_no_guess() -> None:
    model = LearnedRouter.train([("حفرة في الشارع", "roads"), ("طفح مجاري", "sewage")])
    assert model.predict("xyzzy qwerty") is None
    assert LearnedRouter().predict("حفرة") is None


def test_a_saved_model_answers_the_same_and_older_files_still_load() -> None:
    model = LearnedRouter.train(examples("ar_train.jsonl"))
    again = LearnedRouter.from_json(model.to_json())
    text = "الزبالة متراكمة عند باب العمارة"
    assert again.predict(text) == model.predict(text)
    older = json.loads(model.to_json())
    del older["feature_set"]
    assert LearnedRouter.from_json(json.dumps(older)).feature_set == LEGACY_FEATURES


def test_the_arabic_held_out_set_is_routed_well_by_the_model_alone() -> None:
    # Measured 0.896 when this was written (README, "Routing"); a drop below 0.85 is a
    # regression in normalization or the model, not noise of one or two messages.
    model = LearnedRouter.train(examples("ar_train.jsonl"))
    rules = load_rules(FIXTURES / "learned_only.yaml")
    report = evaluate(examples("ar_heldout.jsonl"), lambda t: decide_text(t, rules, model))
    assert report.n == 96 and report.accuracy >= 0.85


def departments_in(source: ModelFile) -> set[str]:
    model = source.current()
    return set(model.documents) if model else set()


def test_a_retrained_model_file_is_picked_up_and_a_broken_one_ignored(tmp_path: Path) -> None:
    path = tmp_path / "model.json"
    source = ModelFile(path)
    assert departments_in(source) == set()  # not trained yet
    path.write_text(LearnedRouter.train([("حفرة", "roads")]).to_json(), encoding="utf-8")
    assert departments_in(source) == {"roads"}
    retrained = LearnedRouter.train([("حفرة", "roads"), ("طفح مجاري", "sewage")])
    path.write_text(retrained.to_json() + " ", encoding="utf-8")  # a new size: a new stamp
    assert departments_in(source) == {"roads", "sewage"}
    path.write_text("{not json", encoding="utf-8")
    assert departments_in(source) == {"roads", "sewage"}
