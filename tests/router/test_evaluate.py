"""Measuring routing: first choice, coverage, misroutes, triage, per department, a curve."""

from __future__ import annotations

from qanat.model import RoutingDecision
from qanat.router.evaluate import coverage_curve, evaluate


def decided(department: str) -> RoutingDecision:
    return RoutingDecision(department=department, reason="test")


def triaged(suggestion: str | None) -> RoutingDecision:
    return RoutingDecision(
        department="triage", needs_triage=True, suggestion=suggestion, reason="test"
    )


def test_triage_is_not_a_misroute_and_its_suggestion_is_the_first_choice() -> None:
    examples = [("a", "roads"), ("b", "roads"), ("c", "sewage"), ("d", "sewage"), ("e", "parks")]
    answers = {
        "a": decided("roads"),
        "b": decided("sewage"),  # misrouted
        "c": decided("sewage"),
        "d": triaged("sewage"),  # unsure, but its guess was right
        "e": triaged(None),  # no guess at all
    }
    result = evaluate(examples, lambda text: answers[text]).to_json()
    assert result["n"] == 5 and result["accuracy"] == 0.6  # a, c, d by first choice
    assert (result["coverage"], result["triage"], result["misrouted"]) == (0.6, 2, 0.2)
    assert result["accuracy_answered"] == round(2 / 3, 4) and result["strict_accuracy"] == 0.4
    assert result["per_department"]["roads"] == {"precision": 1.0, "recall": 0.5, "support": 2}
    assert result["per_department"]["sewage"]["precision"] == round(2 / 3, 3)


def test_the_coverage_curve_trades_coverage_for_accuracy() -> None:
    guesses = [("roads", "roads", 0.9), ("roads", "sewage", 0.45), ("parks", "parks", 0.55)]
    curve = {row["threshold"]: row for row in coverage_curve(guesses, thresholds=(0.4, 0.5, 0.6))}
    assert curve[0.4] == {"threshold": 0.4, "coverage": 1.0, "accuracy_answered": 0.6667}
    assert curve[0.5]["coverage"] == 0.6667 and curve[0.5]["accuracy_answered"] == 1.0
    assert curve[0.6]["coverage"] == 0.3333
