"""Training the learned router (``qanat router train``): scikit-learn in, plain arrays out.

The recipe, and why (measured on San Diego's resident requests and on Arabic customer
requests; the README gives the figures):

- TF-IDF over ``char_wb`` 2–5-grams of the match form, sublinear term frequency (word
  1–2-grams beside them scored lower: a dialect's words are not the training set's,
  their letters mostly are); from 5,000 examples on, an n-gram must occur in two
  examples (on 21,559 Arabic requests: a third fewer n-grams to hold in memory, the
  same accuracy within 0.002);
- a linear SVM with class-balanced weights, its ``C`` chosen among 0.03–1 by
  cross-validated balanced accuracy on the training examples (every department counts
  the same; a small city's requests chose 0.03, Arabic banking requests 1); logistic
  regression scored no better in cross-validation and trains several times slower;
- staff corrections (a transferred ticket) weigh :data:`CORRECTION_WEIGHT` times an
  ordinary example: they are the hard cases, and weighing them more than that over-fits;
- one temperature fitted on out-of-fold scores, so the probability means what it says
  and never changes which department wins.

Everything here is a pure function of the examples; the result is a
:class:`~qanat.router.learned.LearnedRouter` that routes with numpy alone.
"""

from __future__ import annotations

import warnings
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from qanat.router.learned import DEFAULT_THRESHOLD, NGRAMS, LearnedRouter, prepared

#: How much a staff correction counts against an ordinary example.
CORRECTION_WEIGHT = 2.0
#: The temperature used when there are too few examples to fit one (measured: 5.9 on
#: qanat's Arabic examples, 6.2 on San Diego's requests).
FALLBACK_BETA = 5.0
#: The largest temperature fitted: beyond it the held-out scores separated perfectly,
#: which says the examples are too few to tell how sure to be, not that it is sure.
MAX_BETA = 20.0


@dataclass(frozen=True)
class Example:
    """One training example: a ticket's text, its department, how much it counts."""

    text: str
    department: str
    weight: float = 1.0


@dataclass(frozen=True)
class TrainingSettings:
    """How a router is trained."""

    c_grid: tuple[float, ...] = (0.03, 0.1, 0.3, 1.0)
    folds: int = 5
    threshold: float = DEFAULT_THRESHOLD
    seed: int = 0
    #: From this many examples on, a training set is large: an n-gram seen in one example
    #: only is left out, and :attr:`large_folds` folds choose C (each still holds
    #: thousands of examples).
    large_from: int = 5000
    large_folds: int = 3


Matrix = npt.NDArray[np.float64]


def min_documents(examples: int, settings: TrainingSettings) -> int:
    """In how many examples an n-gram must occur to be kept: in a large training set, in
    two (a third fewer n-grams, the same accuracy, as measured); else in one (a rare
    n-gram may then be all a small department has)."""
    return 2 if examples >= settings.large_from else 1


def _vectorizer(min_df: int = 1) -> object:
    from sklearn.feature_extraction.text import TfidfVectorizer

    return TfidfVectorizer(
        analyzer="char_wb",
        ngram_range=NGRAMS,
        sublinear_tf=True,
        min_df=min_df,
        dtype=np.float32,
    )


def _fit(x: object, labels: Sequence[str], weights: Matrix, c: float) -> object:
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.svm import LinearSVC

    model = LinearSVC(C=c, class_weight="balanced", max_iter=5000)
    with warnings.catch_warnings():
        # A few hundred examples may stop short of full convergence: harmless here.
        warnings.simplefilter("ignore", ConvergenceWarning)
        return model.fit(x, np.asarray(labels), sample_weight=weights)


def _decision(model: object, x: object, classes: list[str]) -> Matrix:
    """Scores per class, in ``classes`` order (a binary SVM gives one column: split it)."""
    raw = np.asarray(model.decision_function(x), dtype=np.float64)  # type: ignore[attr-defined]
    known = list(model.classes_)  # type: ignore[attr-defined]
    if raw.ndim == 1:
        raw = np.column_stack([-raw, raw])
    scores = np.full((raw.shape[0], len(classes)), -10.0)  # unseen in this fold: never wins
    for column, department in enumerate(known):
        scores[:, classes.index(department)] = raw[:, column]
    return scores


def out_of_fold(
    texts: list[str],
    labels: list[str],
    weights: Matrix,
    c_grid: Sequence[float],
    settings: TrainingSettings,
) -> dict[float, Matrix] | None:
    """For each C, every example's scores from a model that did not see it (None: too few
    examples). Each fold is vectorized once, for every C."""
    from sklearn.model_selection import StratifiedKFold

    wanted = settings.large_folds if len(texts) >= settings.large_from else settings.folds
    folds = min(wanted, min(Counter(labels).values()))
    if folds < 2:
        return None
    classes = sorted(set(labels))
    scores = {c: np.zeros((len(texts), len(classes))) for c in c_grid}
    split = StratifiedKFold(n_splits=folds, shuffle=True, random_state=settings.seed)
    for train, held in split.split(np.zeros(len(labels)), labels):
        # The whole set decides, so every fold keeps n-grams as the final model does.
        vectorizer = _vectorizer(min_documents(len(texts), settings))
        x = vectorizer.fit_transform([texts[i] for i in train])  # type: ignore[attr-defined]
        held_x = vectorizer.transform([texts[i] for i in held])  # type: ignore[attr-defined]
        for c in c_grid:
            model = _fit(x, [labels[i] for i in train], weights[train], c)
            scores[c][held] = _decision(model, held_x, classes)
    return scores


def balanced_accuracy(scores: Matrix, truth: npt.NDArray[np.int64]) -> float:
    """Mean recall over departments."""
    top = scores.argmax(axis=1)
    return float(np.mean([(top[truth == k] == k).mean() for k in np.unique(truth)]))


def fit_temperature(scores: Matrix, truth: npt.NDArray[np.int64]) -> float:
    """The ``beta`` that makes ``softmax(beta × scores)`` fit the truth best (log loss)."""
    from scipy.optimize import minimize_scalar
    from scipy.special import log_softmax

    rows = np.arange(len(truth))

    def loss(log_beta: float) -> float:
        return float(-log_softmax(np.exp(log_beta) * scores, axis=1)[rows, truth].mean())

    found = minimize_scalar(loss, bounds=(-3.0, float(np.log(MAX_BETA))), method="bounded")
    beta = float(np.exp(found.x))
    return FALLBACK_BETA if beta > 0.99 * MAX_BETA else beta


def train_router(
    examples: Sequence[Example], settings: TrainingSettings | None = None
) -> LearnedRouter:
    """A router trained on ``examples`` (at least two departments)."""
    settings = settings or TrainingSettings()
    texts = [prepared(e.text) for e in examples]
    labels = [e.department for e in examples]
    weights = np.asarray([e.weight for e in examples], dtype=np.float64)
    classes = sorted(set(labels))
    if len(classes) < 2:
        raise ValueError("a routing model needs examples of at least two departments")
    truth = np.searchsorted(np.asarray(classes), np.asarray(labels)).astype(np.int64)
    c, beta, cv = _choose(texts, labels, weights, truth, settings)
    min_df = min_documents(len(texts), settings)
    vectorizer = _vectorizer(min_df)
    x = vectorizer.fit_transform(texts)  # type: ignore[attr-defined]
    model = _fit(x, labels, weights, c)
    coef = np.asarray(model.coef_, dtype=np.float64)  # type: ignore[attr-defined]
    intercept = np.asarray(model.intercept_, dtype=np.float64)  # type: ignore[attr-defined]
    if len(classes) == 2:  # one column for two classes: give each its own
        coef, intercept = np.vstack([-coef, coef]), np.concatenate([-intercept, intercept])
    vocabulary = {str(t): int(i) for t, i in vectorizer.vocabulary_.items()}  # type: ignore[attr-defined]
    return LearnedRouter(
        departments=tuple(classes),
        vocabulary=vocabulary,
        idf=np.asarray(vectorizer.idf_, dtype=np.float64),  # type: ignore[attr-defined]
        weights=coef.T.astype(np.float32),
        intercept=intercept,
        beta=beta,
        threshold=settings.threshold,
        training={
            "examples": len(examples),
            "departments": len(classes),
            "weighted": int(sum(1 for e in examples if e.weight != 1.0)),
            "c": c,
            "min_documents": min_df,
            "cv_balanced_accuracy": cv,
        },
    )


def _choose(
    texts: list[str],
    labels: list[str],
    weights: Matrix,
    truth: npt.NDArray[np.int64],
    settings: TrainingSettings,
) -> tuple[float, float, float | None]:
    """The C with the best out-of-fold balanced accuracy, the temperature fitted on its
    out-of-fold scores, and that accuracy (a middle C and a fixed temperature when there
    are too few examples to cross-validate)."""
    found = out_of_fold(texts, labels, weights, settings.c_grid, settings)
    if found is None:
        return settings.c_grid[len(settings.c_grid) // 2], FALLBACK_BETA, None
    # The first (smallest) C wins a tie: the simpler model.
    measured = {c: balanced_accuracy(scores, truth) for c, scores in found.items()}
    c = max(settings.c_grid, key=lambda value: measured[value])
    return c, fit_temperature(found[c], truth), round(measured[c], 4)
