"""Calibrating the duplicate thresholds on a body's own labelled pairs: for all pairs,
and per category where its pairs are enough to say."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

#: A category's own thresholds are recommended from this many labelled pairs on…
CATEGORY_PAIRS = 30
#: …with at least this many duplicates and this many non-duplicates among them.
CATEGORY_EACH = 8


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


@dataclass(frozen=True)
class CategoryThresholds:
    """A category's own link and suggestion thresholds, from its ``pairs`` labelled pairs."""

    category: str
    pairs: int
    link: float
    suggest: float


Choose = Callable[[Sequence[float], Sequence[int]], tuple[float, float]]


def per_category(
    scored: Iterable[tuple[str | None, float, int]], choose: Choose
) -> list[CategoryThresholds]:
    """The thresholds ``choose`` picks for each category whose labelled pairs (category,
    score, label) are enough: :data:`CATEGORY_PAIRS` pairs, :data:`CATEGORY_EACH` of each
    label. Other categories keep the thresholds chosen on all pairs."""
    groups: dict[str, list[tuple[float, int]]] = defaultdict(list)
    for category, score, label in scored:
        if category:
            groups[category].append((score, label))
    found = []
    for category, rows in sorted(groups.items()):
        labels = [label for _score, label in rows]
        duplicates = sum(labels)
        if len(rows) < CATEGORY_PAIRS or min(duplicates, len(rows) - duplicates) < CATEGORY_EACH:
            continue
        link, suggest = choose([score for score, _label in rows], labels)
        found.append(CategoryThresholds(category, len(rows), link, suggest))
    return found
