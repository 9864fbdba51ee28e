"""Dedupe's scores: text, place, category and time, and calibration."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

from typer.testing import CliRunner

import qanat.dedupe
from qanat.cli.main import app
from qanat.dedupe.calibrate import CATEGORY_PAIRS, calibrate, per_category, spot_radius
from qanat.dedupe.rules import DedupeRules
from qanat.dedupe.similarity import (
    DEFAULT_THRESHOLD,
    Report,
    combined_score,
    features,
    text_score,
)
from qanat.dedupe.text import meaningful_words
from qanat.normalize.text import match_form

PAIRS = Path(qanat.dedupe.__file__).parent / "training_pairs.jsonl"
T0 = datetime(2026, 11, 2, 8, tzinfo=UTC)


def report(text: str, hours: float = 0, **place: object) -> Report:
    return Report(match_text=match_form(text), created_at=T0 + timedelta(hours=hours), **place)  # type: ignore[arg-type]


def test_text_score_is_symmetric_and_spelling_blind() -> None:
    a, b = match_form("طفح مجاري في مجمع 305"), match_form("طَفْحُ المجاري في مُجمّع ٣٠٥")
    assert text_score(a, b) == text_score(b, a) == 100.0
    assert text_score(match_form("حفرة في الشارع"), match_form("الإنارة طافية")) < 50


def test_the_same_problem_in_two_languages_links_on_place_and_category() -> None:
    arabic = report(
        "عمود الإنارة طايح في طريق 2811",
        block="1208",
        road="2811",
        category="fallen_pole",
        department="street_lighting",
    )
    english = report(
        "Light pole down on road 2811",
        2,
        block="1208",
        road="2811",
        category="fallen_pole",
        department="street_lighting",
    )
    evidence = features(english, arabic)
    assert evidence["text"] <= 40 and evidence["same_category"] and evidence["same_road"]
    assert combined_score(evidence) >= DEFAULT_THRESHOLD


def test_a_different_problem_on_the_same_road_does_not_link() -> None:
    sewage = report(
        "طفح مجاري في طريق 45",
        block="305",
        road="45",
        category="sewage_overflow",
        department="sewage",
    )
    lights = report(
        "الإنارة طافية في طريق 45",
        1,
        block="305",
        road="45",
        category="street_light_out",
        department="street_lighting",
    )
    assert combined_score(features(lights, sewage)) < DEFAULT_THRESHOLD


def test_another_block_or_far_coordinates_never_link() -> None:
    a = report("حفرة كبيرة", block="904", lat=26.13, lon=50.56, category="pothole")
    b = report("حفرة كبيرة", 1, block="905", lat=26.13, lon=50.56, category="pothole")
    far = report("حفرة كبيرة", 1, lat=26.20, lon=50.60, category="pothole")
    assert combined_score(features(b, a)) <= 30
    assert combined_score(features(far, a)) <= 30
    assert features(far, a)["metres"] > 5000


def test_without_a_shared_place_text_alone_must_be_nearly_identical() -> None:
    a = report("الإنارة طافية", category="street_light_out")
    b = report("الانارة طافيه", 1, category="street_light_out")
    c = report("الإنارة طافية من أسبوع في الحي كله", 1, category="street_light_out")
    assert combined_score(features(b, a)) >= DEFAULT_THRESHOLD
    assert combined_score(features(c, a)) < DEFAULT_THRESHOLD


def test_calibration_picks_the_best_f1_threshold() -> None:
    rows, best = calibrate([(90, 1), (80, 1), (70, 0), (60, 1), (40, 0)], thresholds=[50, 65, 75])
    table = {row.threshold: (row.precision, row.recall) for row in rows}
    assert table[75.0] == (1.0, round(2 / 3, 3)) and table[50.0] == (0.75, 1.0)
    assert best == 50.0


def test_score_and_calibrate_commands(tmp_path: Path) -> None:
    runner = CliRunner()
    scored = runner.invoke(app, ["dedupe", "score", str(PAIRS)])
    lines = [json.loads(line) for line in scored.stdout.splitlines()]
    assert scored.exit_code == 0 and len(lines) == len(PAIRS.read_text().splitlines())
    assert all(0 <= line["score"] <= 100 for line in lines)
    calibrated = runner.invoke(app, ["dedupe", "calibrate", str(PAIRS), "--json"])
    result = json.loads(calibrated.stdout)
    labelled = sum(1 for line in PAIRS.read_text().splitlines() if '"label"' in line)
    assert result["n"] == labelled >= 250 and result["recommended"] is not None
    # Hard negatives included, the pipeline's score separates the pairs well.
    assert max(row["f1"] for row in result["rows"]) >= 0.8
    # Categories with enough pairs get their own thresholds, each a valid rules line.
    own = {row["category"]: row for row in result["categories"]}
    assert own and all(row["pairs"] >= CATEGORY_PAIRS for row in own.values())
    rules = DedupeRules(
        categories=[
            {"category": c, "threshold": r["link"], "suggest_threshold": r["suggest"]}
            for c, r in own.items()
        ]
    )
    assert all(rules.threshold_for(c) == r["link"] for c, r in own.items())
    broken = tmp_path / "broken.jsonl"
    broken.write_text('{"text_a": "x"}\n{"text_a": "a", "text_b": "a"}\n')
    mixed = runner.invoke(app, ["dedupe", "score", str(broken)])
    first, second = (json.loads(line) for line in mixed.stdout.splitlines())
    assert mixed.exit_code == 1 and first["line"] == 1 and second["score"] == 0.0


def test_the_address_is_compared_as_a_place_not_as_words() -> None:
    assert meaningful_words(match_form("طفح مجاري في مجمع ٣٠٥ طريق رقم 524")) == "طفح مجاري"
    assert meaningful_words(match_form("Pothole on Rd 915, Blk 904")) == "pothole"
    assert meaningful_words(match_form("حفرة عند دوار 13")) == "حفره دوار 13"  # not an address
    assert meaningful_words(match_form("بيت مهجور")) == "بيت مهجور"  # a house, not a number


def test_another_road_of_the_block_or_another_area_is_another_problem() -> None:
    pothole = {"category": "pothole", "department": "roads"}
    first = report("حفرة في طريق 530", block="305", road="530", **pothole)
    other_road = report("حفرة كبيرة في طريق 532", 1, block="305", road="532", **pothole)
    assert combined_score(features(other_road, first)) < DEFAULT_THRESHOLD
    sitra = report("طفح مجاري في شارع 45 سترة", road="45", area="Sitra", category="sewage_overflow")
    riffa = report(
        "طفح مجاري في شارع 45 الرفاع", 1, road="45", area="Riffa", category="sewage_overflow"
    )
    assert combined_score(features(riffa, sitra)) <= 30


def test_two_house_numbers_are_two_places_unless_the_problem_covers_an_area() -> None:
    snow = {"category": "snow_sidewalk", "department": "streets"}
    first = report("Snow - Uncleared Sidewalk", road="w roscoe", building="4315",
                   lat=41.94330, lon=-87.73430, **snow)  # fmt: skip
    next_door = report("Snow - Uncleared Sidewalk", 2, road="w roscoe", building="4319",
                       lat=41.94331, lon=-87.73460, **snow)  # fmt: skip
    same_house = report("Snow - Uncleared Sidewalk", 3, road="w roscoe", building="4315",
                        lat=41.94332, lon=-87.73431, **snow)  # fmt: skip
    assert features(next_door, first)["metres"] < 50
    assert features(next_door, first)["where"] == "elsewhere"
    assert combined_score(features(next_door, first)) <= 30
    assert combined_score(features(same_house, first)) >= DEFAULT_THRESHOLD
    flooded = features(next_door, first, radius=250)  # a flooded street: one problem
    assert flooded["where"] == "spot" and combined_score(flooded) >= DEFAULT_THRESHOLD


def test_a_little_beyond_the_radius_is_one_block_only_when_block_or_road_agrees() -> None:
    graffiti = {"category": "graffiti", "department": "cleanliness"}
    first = report("graffiti on the wall", lat=26.2000, lon=50.5800, **graffiti)
    a_block_away = report("graffiti on the wall", 1, lat=26.2007, lon=50.5800, **graffiti)
    assert 50 < features(a_block_away, first)["metres"] <= 100
    assert combined_score(features(a_block_away, first)) <= 30
    placed = {"block": "305", **graffiti}
    first = report("graffiti on the wall", lat=26.2000, lon=50.5800, **placed)
    same_block = report("graffiti on the wall", 1, lat=26.2007, lon=50.5800, **placed)
    assert features(same_block, first)["where"] == "block"


def test_scores_fall_in_bands_link_suggest_or_none() -> None:
    rules = DedupeRules()
    assert rules.band(55, None) == "link"
    assert rules.band(40, None) == "suggest"
    assert rules.band(39.9, None) == "none"
    own = DedupeRules(categories=[{"category": "x", "threshold": 45, "radius_m": 300}])
    assert own.suggest_for("x") == 40 and own.radius_for("x") == 300 and own.radius_for(None) == 50


def test_text_alone_needs_a_known_problem_or_enough_words() -> None:
    short = report("any update please")
    again = report("any update please", 1)
    assert combined_score(features(again, short)) < DEFAULT_THRESHOLD
    lights = {"category": "street_light_out", "department": "street_lighting"}
    first = report("الإنارة طافية", **lights)
    assert combined_score(features(report("الانارة طافيه", 1, **lights), first)) >= 55
    far_apart = report("الانارة طافيه", 24 * 4, **lights)
    assert combined_score(features(far_apart, first)) < 40


def test_asking_after_a_report_says_nothing_of_the_problem() -> None:
    assert meaningful_words(match_form("Any update on my complaint please?")) == ""
    assert meaningful_words(match_form("وين وصل بلاغي عن الحفرة؟")) == "وين وصل حفره"
    first = report("any update on my complaint please")
    again = report("any update on my complaint please", 1)
    assert combined_score(features(again, first)) == 0.0


def test_thanks_for_a_repair_is_not_the_same_report_as_the_problem() -> None:
    pothole = {"road": "2404", "category": "pothole", "department": "roads"}
    complaint = report("حفرة كبيرة في الشارع 2404 مجمع 724", kind="complaint", **pothole)
    thanks = report("شكراً على إصلاح الحفرة في طريق 2404", 1, kind="compliment", **pothole)
    again = report("الحفرة في طريق 2404 كبيرة", 1, kind="complaint", **pothole)
    assert features(thanks, complaint)["thanks_and_problem"] is True
    assert combined_score(features(thanks, complaint)) < 40  # not even suggested
    assert combined_score(features(again, complaint)) >= DEFAULT_THRESHOLD


def test_text_alone_under_a_gate_keeps_the_texts_order() -> None:
    # Two words, neither report placed nor categorised: never linked nor suggested, but
    # a pairs file still ranks the nearer wording higher (not all cut to the gate).
    first = report("الإنارة طافية")
    same = combined_score(features(report("الانارة طافيه", 1), first))
    close = combined_score(features(report("الإنارة طافية كلها", 1), first))
    far = combined_score(features(report("حفرة عميقة", 1), first))
    assert 40 > same > close > far


def test_a_category_gets_its_own_thresholds_only_from_enough_pairs_of_each_label() -> None:
    def choose(scores: object, labels: object) -> tuple[float, float]:
        return 70.0, 45.0

    many = [("pothole", 80.0, 1, None)] * 20 + [("pothole", 30.0, 0, None)] * 10
    lopsided = [("garbage", 80.0, 1, None)] * 40 + [("garbage", 30.0, 0, None)] * 2
    few = [("sewage_overflow", 80.0, 1, None)] * 5 + [("sewage_overflow", 30.0, 0, None)] * 5
    unknown = [(None, 50.0, 1, None)] * 40
    found = per_category(many + lopsided + few + unknown, choose)
    assert [(c.category, c.pairs, c.link, c.suggest, c.radius_m) for c in found] == [
        ("pothole", 30, 70.0, 45.0, None)
    ]
    rules = DedupeRules(
        suggest_threshold=42,
        categories=[{"category": "pothole", "threshold": 70, "suggest_threshold": 45}],
    )
    assert rules.band(50, "pothole") == "suggest" and rules.band(44, "pothole") == "none"
    assert rules.band(44, "garbage") == "suggest" and rules.band(41, "garbage") == "none"


def test_a_categorys_radius_is_learned_from_how_far_apart_its_duplicates_were() -> None:
    # Strays seen by neighbours: duplicates up to 180 m apart, other cases further.
    strays = [(float(m), 1) for m in (5, 20, 60, 90, 120, 150, 170, 180, 30, 40)]
    strays += [(float(m), 0) for m in (450, 600, 700, 900, 1200, 350, 500, 800)]
    assert spot_radius(strays) == 200.0
    # A street light: duplicates at one pole, the next poles other problems.
    poles = [(float(m), 1) for m in (0, 3, 5, 8, 10, 12, 15, 20, 2, 4)]
    poles += [(float(m), 0) for m in (30, 35, 40, 60, 45, 80, 90, 70)]
    assert spot_radius(poles) == 25.0
    # No radius holds the duplicates without as many other problems: none recommended.
    mixed = [(float(m), 1) for m in range(0, 100, 10)] + [(float(m), 0) for m in range(5, 95, 10)]
    assert spot_radius(mixed) is None
    assert spot_radius(poles[:4] + poles[10:]) is None  # four duplicates are too few
    found = per_category([("stray_animals", 50.0, label, m) for m, label in strays], None)  # type: ignore[arg-type]
    assert [(c.category, c.link, c.radius_m) for c in found] == [("stray_animals", None, 200.0)]
