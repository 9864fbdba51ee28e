"""Measuring routing: accuracy, how often it decided, misroutes, per department, a curve.

A ticket the router is unsure of goes to triage, which is not a misroute: it waits for a
person, with the model's guess as a suggestion. So the report keeps them apart:

- ``accuracy``: the router's first choice (its decision, or for triage the model's
  suggestion) against the department staff chose — the model's quality, whatever the
  threshold;
- ``coverage`` (share decided without triage), ``accuracy_answered`` (right among those),
  ``misrouted`` (share sent to a wrong department) and ``triage`` (how many): the
  threshold's trade-off;
- ``strict_accuracy``: decided and right (triage counts as wrong), as earlier versions
  of qanat reported ``accuracy``.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from qanat.model import RoutingDecision


@dataclass
class EvalReport:
    """How the router's decisions compare with the departments staff chose."""

    n: int = 0
    first_choice_right: int = 0
    decided: int = 0
    decided_right: int = 0
    confusion: Counter[tuple[str, str]] = field(default_factory=Counter)

    def add(self, expected: str, decision: RoutingDecision) -> None:
        """Count one example."""
        first = first_choice(decision)
        self.n += 1
        self.first_choice_right += int(first == expected)
        if not decision.needs_triage:
            self.decided += 1
            self.decided_right += int(decision.department == expected)
        self.confusion[(expected, first or "-")] += 1

    @property
    def accuracy(self) -> float:
        """Share of examples whose first choice was the expected department."""
        return self.first_choice_right / self.n if self.n else 0.0

    def per_department(self) -> dict[str, dict[str, float]]:
        """Precision and recall of the first choice, per department."""
        departments = {d for pair in self.confusion for d in pair}
        result = {}
        for department in sorted(departments):
            hits = self.confusion[(department, department)]
            predicted = sum(c for (_e, p), c in self.confusion.items() if p == department)
            expected = sum(c for (e, _p), c in self.confusion.items() if e == department)
            result[department] = {
                "precision": round(hits / predicted, 3) if predicted else 0.0,
                "recall": round(hits / expected, 3) if expected else 0.0,
                "support": expected,
            }
        return result

    def to_json(self) -> dict[str, Any]:
        """Every figure of the module docstring, per department, and the confusion."""
        n = self.n or 1
        return {
            "n": self.n,
            "accuracy": round(self.accuracy, 4),
            "coverage": round(self.decided / n, 4),
            "accuracy_answered": round(self.decided_right / self.decided, 4)
            if self.decided
            else 0.0,
            "misrouted": round((self.decided - self.decided_right) / n, 4),
            "triage": self.n - self.decided,
            "strict_accuracy": round(self.decided_right / n, 4),
            "per_department": self.per_department(),
            "confusion": [
                {"expected": e, "predicted": p, "count": c}
                for (e, p), c in sorted(self.confusion.items())
            ],
        }


def first_choice(decision: RoutingDecision) -> str | None:
    """The department the router would send the ticket to first: its decision, or when
    it went to triage, the model's suggestion (None: no suggestion)."""
    if decision.needs_triage:
        return decision.suggestion
    return decision.department


def evaluate(
    examples: Iterable[tuple[str, str]], decide: Callable[[str], RoutingDecision]
) -> EvalReport:
    """Route every (text, expected department) with ``decide`` and count."""
    report = EvalReport()
    for text, expected in examples:
        report.add(expected, decide(text))
    return report


def coverage_curve(
    probabilities: Iterable[tuple[str, str, float]],
    thresholds: Iterable[float] = (0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9),
) -> list[dict[str, float]]:
    """For (expected, model's guess, its probability) triples: at each threshold, the
    share the model would decide and how often it is right when it does."""
    rows = list(probabilities)
    curve = []
    for threshold in thresholds:
        answered = [(e, g) for e, g, p in rows if p >= threshold]
        right = sum(1 for e, g in answered if e == g)
        curve.append(
            {
                "threshold": threshold,
                "coverage": round(len(answered) / len(rows), 4) if rows else 0.0,
                "accuracy_answered": round(right / len(answered), 4) if answered else 0.0,
            }
        )
    return curve
