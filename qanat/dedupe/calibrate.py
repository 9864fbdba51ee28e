"""Calibrating the duplicate threshold on a body's own labelled pairs."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class ThresholdRow:
    """Precision, recall and F1 of linking pairs scored at or above ``threshold``."""

    threshold: float
    precision: float
    recall: float
    f1: float


def calibrate(
    pairs: Iterable[tuple[float, int]], thresholds: Iterable[float] = range(40, 100, 5)
) -> tuple[list[ThresholdRow], float | None]:
    """A row per threshold and the recommended one (best F1; ties → the higher threshold)."""
    scored = list(pairs)
    positives = sum(label for _score, label in scored)
    rows = []
    for threshold in thresholds:
        predicted = [(score >= threshold, label) for score, label in scored]
        true_positive = sum(1 for linked, label in predicted if linked and label)
        linked_count = sum(1 for linked, _label in predicted if linked)
        precision = true_positive / linked_count if linked_count else 1.0
        recall = true_positive / positives if positives else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        rows.append(
            ThresholdRow(float(threshold), round(precision, 3), round(recall, 3), round(f1, 3))
        )
    best = max(rows, key=lambda r: (r.f1, r.threshold), default=None)
    return rows, best.threshold if best and best.f1 > 0 else None
