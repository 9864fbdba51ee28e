"""Measuring routing: accuracy, per-department precision and recall, a confusion table."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any


@dataclass
class EvalReport:
    """How often the decision matched the department staff chose."""

    n: int = 0
    correct: int = 0
    confusion: Counter[tuple[str, str]] = field(default_factory=Counter)

    @property
    def accuracy(self) -> float:
        """Share of examples routed to the expected department."""
        return self.correct / self.n if self.n else 0.0

    def per_department(self) -> dict[str, dict[str, float]]:
        """Precision and recall per department."""
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
        """``n``, ``accuracy``, per-department figures and the confusion table."""
        return {
            "n": self.n,
            "accuracy": round(self.accuracy, 4),
            "per_department": self.per_department(),
            "confusion": [
                {"expected": e, "predicted": p, "count": c}
                for (e, p), c in sorted(self.confusion.items())
            ],
        }


def evaluate(examples: Iterable[tuple[str, str]], decide: Callable[[str], str]) -> EvalReport:
    """Route every (text, expected department) with ``decide`` and count."""
    report = EvalReport()
    for text, expected in examples:
        predicted = decide(text)
        report.n += 1
        report.correct += int(predicted == expected)
        report.confusion[(expected, predicted)] += 1
    return report
