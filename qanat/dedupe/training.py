"""Training the pair model on labelled pairs, and choosing its thresholds.

Logistic regression with an L2 penalty, fitted with SciPy's bounded L-BFGS so that the
text similarities' weights stay at zero or above (a more similar text never lowers a
score; the candidate index relies on it). Pairs the gates decide (elsewhere, another
department's work) and text alone (scored by its similarity) teach the model nothing
and are left out of the fit. Thresholds
are chosen on out-of-fold probabilities — each pair scored by a model that did not
see it — so the precision they promise is not the training set's.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.optimize import minimize

from qanat.dedupe.pair_model import FEATURES, MONOTONE, PairModel, inputs
from qanat.dedupe.similarity import DEFAULT_SUGGEST, DEFAULT_THRESHOLD, gate, score_of

#: Auto-linking starts at the lowest score whose out-of-fold precision is at least this.
LINK_PRECISION = 0.97
#: Suggestions start where this share of duplicates is linked or suggested.
SUGGEST_RECALL = 0.9
#: The L2 penalty's strength (inverse), as scikit-learn's ``C``: the one of these whose
#: out-of-fold log loss is lowest.
PENALTIES = (0.3, 1.0, 3.0, 10.0, 30.0)
FOLDS = 5
#: Thresholds are looked for on this grid (score points): links from 40 (under it, the
#: rules refuse a threshold), suggestions from 31 (above what reports elsewhere score).
GRID = tuple(float(x) for x in range(31, 100))
LINK_FLOOR = 40.0


@dataclass(frozen=True)
class Example:
    """A labelled pair's evidence (as :func:`qanat.dedupe.similarity.features` gives it)."""

    evidence: Mapping[str, Any]
    label: int


def _fit(x: np.ndarray, y: np.ndarray, c: float) -> tuple[np.ndarray, float]:
    """Weights and bias minimising the penalised log loss, text weights ≥ 0."""
    d = x.shape[1]

    def loss(theta: np.ndarray) -> tuple[float, np.ndarray]:
        w, b = theta[:d], theta[d]
        z = x @ w + b
        p = 1 / (1 + np.exp(-np.clip(z, -60, 60)))
        eps = 1e-12
        value = -np.sum(y * np.log(p + eps) + (1 - y) * np.log(1 - p + eps)) + (w @ w) / (2 * c)
        residual = p - y
        grad = np.concatenate([x.T @ residual + w / c, [residual.sum()]])
        return float(value), grad

    bounds = [(0.0, None) if name in MONOTONE else (None, None) for name in FEATURES]
    start = np.zeros(d + 1)
    found = minimize(loss, start, jac=True, method="L-BFGS-B", bounds=[*bounds, (None, None)])
    return found.x[:d], float(found.x[d])


def _scores(model_w: np.ndarray, bias: float, examples: Sequence[Example]) -> list[float]:
    model = PairModel(
        weights=tuple(float(w) for w in model_w),
        bias=bias,
        link_threshold=DEFAULT_THRESHOLD,
        suggest_threshold=DEFAULT_SUGGEST,
    )
    return [score_of(e.evidence, model) for e in examples]


def learnable(example: Example) -> bool:
    """Whether the model decides this pair: a place is known and no gate decides it."""
    return gate(example.evidence) == 100.0 and example.evidence.get("where") != "unknown"


def out_of_fold(examples: Sequence[Example], c: float) -> list[float]:
    """Each example's score (0–100) from a model fitted on the other folds."""
    fitted = [n for n, e in enumerate(examples) if learnable(e)]
    scores = [0.0] * len(examples)
    for n, e in enumerate(examples):
        if not learnable(e):
            scores[n] = _scores(np.zeros(len(FEATURES)), 0.0, [e])[0]  # gated or text alone
    for fold in range(FOLDS):
        held = [n for k, n in enumerate(fitted) if k % FOLDS == fold]
        kept = [n for k, n in enumerate(fitted) if k % FOLDS != fold]
        if not held or not kept:
            continue
        w, b = _fit(_matrix(examples, kept), _labels(examples, kept), c)
        for n, value in zip(held, _scores(w, b, [examples[n] for n in held]), strict=True):
            scores[n] = value
    return scores


def _matrix(examples: Sequence[Example], which: Sequence[int]) -> np.ndarray:
    return np.array([inputs(examples[n].evidence) for n in which], dtype=float)


def _labels(examples: Sequence[Example], which: Sequence[int]) -> np.ndarray:
    return np.array([examples[n].label for n in which], dtype=float)


def choose_thresholds(scores: Sequence[float], labels: Sequence[int]) -> tuple[float, float]:
    """(link, suggest): link from the lowest grid score (40 or more) whose precision is at
    least :data:`LINK_PRECISION`; suggest from the highest grid score up to it that still
    catches :data:`SUGGEST_RECALL` of the duplicates (31 or more)."""
    positives = sum(labels) or 1
    link = 100.0
    for threshold in (t for t in GRID if t >= LINK_FLOOR):
        chosen = [label for score, label in zip(scores, labels, strict=True) if score >= threshold]
        if chosen and sum(chosen) / len(chosen) >= LINK_PRECISION:
            link = threshold
            break
    suggest = min(link, LINK_FLOOR)
    for threshold in reversed([t for t in GRID if t <= link]):
        caught = sum(
            label for score, label in zip(scores, labels, strict=True) if score >= threshold
        )
        if caught / positives >= SUGGEST_RECALL:
            suggest = threshold
            break
    return link, suggest


def measured(scores: Sequence[float], labels: Sequence[int], link: float) -> dict[str, float]:
    """Precision, recall and ROC AUC of linking at ``link``."""
    linked = [label for score, label in zip(scores, labels, strict=True) if score >= link]
    positives = sum(labels)
    return {
        "precision": round(sum(linked) / len(linked), 3) if linked else 1.0,
        "recall": round(sum(linked) / positives, 3) if positives else 0.0,
        "auc": round(roc_auc(scores, labels), 3),
    }


def roc_auc(scores: Sequence[float], labels: Sequence[int]) -> float:
    """The chance a random duplicate scores above a random non-duplicate (ties: half)."""
    pos = [s for s, label in zip(scores, labels, strict=True) if label]
    neg = [s for s, label in zip(scores, labels, strict=True) if not label]
    if not pos or not neg:
        return math.nan
    order = sorted(neg)
    above = 0.0
    for value in pos:
        lower = _count_below(order, value)
        equal = _count_below(order, value, inclusive=True) - lower
        above += lower + equal / 2
    return above / (len(pos) * len(neg))


def _count_below(order: list[float], value: float, *, inclusive: bool = False) -> int:
    from bisect import bisect_left, bisect_right

    return (bisect_right if inclusive else bisect_left)(order, value)


def log_loss(scores: Sequence[float], labels: Sequence[int]) -> float:
    """The mean log loss of scores read as probabilities in percent."""
    eps = 1e-6
    total = 0.0
    for score, label in zip(scores, labels, strict=True):
        p = min(1 - eps, max(eps, score / 100))
        total -= math.log(p) if label else math.log(1 - p)
    return total / max(1, len(labels))


def train(examples: Sequence[Example], *, source: str) -> PairModel:
    """A pair model fitted on every learnable example, its penalty and thresholds chosen
    on out-of-fold scores, and what they measured recorded in the model."""
    fitted = [n for n, e in enumerate(examples) if learnable(e)]
    labels = [e.label for e in examples]
    if len({examples[n].label for n in fitted}) < 2:
        raise ValueError("training needs duplicates and non-duplicates the gates leave open")
    folds = {c: out_of_fold(examples, c) for c in PENALTIES}
    c = min(PENALTIES, key=lambda penalty: log_loss(folds[penalty], labels))
    scores = folds[c]
    link, suggest = choose_thresholds(scores, labels)
    w, b = _fit(_matrix(examples, fitted), _labels(examples, fitted), c)
    return PairModel(  # rounded as the file keeps them, so a saved model loads equal
        weights=tuple(round(float(x), 6) + 0.0 for x in w),
        bias=round(b, 6),
        link_threshold=link,
        suggest_threshold=suggest,
        trained={
            "source": source,
            "pairs": len(examples),
            "penalty_c": c,
            "duplicates": sum(labels),
            "out_of_fold": measured(scores, labels, link),
        },
    )
