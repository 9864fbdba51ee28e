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


#: The radii (metres) a category's "same spot" is chosen among…
RADII = (25.0, 50.0, 100.0, 200.0, 400.0, 800.0)
#: …the smallest that holds this share of its labelled duplicates, where at least this
#: share of the pairs it holds are duplicates.
RADIUS_CATCHES, RADIUS_PRECISION = 0.9, 0.9


@dataclass(frozen=True)
class CategoryThresholds:
    """A category's own thresholds, from its ``pairs`` labelled pairs: link and suggest
    (None: too few pairs to say) and the radius of "the same spot" (None: too few pairs
    with coordinates, or no radius holds its duplicates without its other problems)."""

    category: str
    pairs: int
    link: float | None
    suggest: float | None
    radius_m: float | None = None


Choose = Callable[[Sequence[float], Sequence[int]], tuple[float, float]]


def spot_radius(distances: Sequence[tuple[float, int]]) -> float | None:
    """The radius of "the same spot" that labelled pairs (metres apart, label) of one
    category say: the smallest of :data:`RADII` holding 90 % of the duplicates where 90 %
    of the pairs it holds are duplicates; None when there are fewer than
    :data:`CATEGORY_EACH` pairs of each label, or no radius does."""
    duplicates = sum(label for _metres, label in distances)
    if min(duplicates, len(distances) - duplicates) < CATEGORY_EACH:
        return None
    for radius in RADII:
        held = [label for metres, label in distances if metres <= radius]
        if sum(held) >= RADIUS_CATCHES * duplicates:
            return radius if sum(held) >= RADIUS_PRECISION * len(held) else None
    return None


def per_category(
    scored: Iterable[tuple[str | None, float, int, float | None]], choose: Choose
) -> list[CategoryThresholds]:
    """What a category's labelled pairs (category, score, label, metres apart or None)
    say of its own thresholds and radius: thresholds (as ``choose`` picks them) from
    :data:`CATEGORY_PAIRS` pairs with :data:`CATEGORY_EACH` of each label, a radius from
    :func:`spot_radius`. Other categories keep the thresholds chosen on all pairs."""
    groups: dict[str, list[tuple[float, int, float | None]]] = defaultdict(list)
    for category, score, label, metres in scored:
        if category:
            groups[category].append((score, label, metres))
    found = []
    for category, rows in sorted(groups.items()):
        labels = [label for _score, label, _metres in rows]
        duplicates = sum(labels)
        link = suggest = None
        if len(rows) >= CATEGORY_PAIRS and min(duplicates, len(rows) - duplicates) >= CATEGORY_EACH:
            link, suggest = choose([score for score, _label, _metres in rows], labels)
        radius = spot_radius([(m, label) for _s, label, m in rows if m is not None])
        if link is not None or radius is not None:
            found.append(CategoryThresholds(category, len(rows), link, suggest, radius))
    return found
