"""The learned part of routing: a small naive Bayes model over words and character n-grams.

Chosen over a nearest-neighbour vote because it is fast at any archive size (one pass
over the message's features, not over past tickets), trains in seconds in plain Python,
saves as JSON in a file, and measured better (the README gives the figures).

Features are the match form's words plus the character 3-, 4- and 5-grams of each word
with its edges marked (``<word>``): Arabic words take attached pronouns, prepositions and
dialect spellings (طافحة / طافحه / طافح, المجاري / مجاري), and the n-grams carry a word
across those forms; the edge marks keep a root at the start of a word apart from the
same letters inside another. Each feature counts once per message, so a long email does
not outvote a tweet, and features never seen in training are ignored rather than
smoothed (they would favour the smallest departments). Its confidence is the posterior
of the winning department; below the threshold the ticket goes to triage.
"""

from __future__ import annotations

import json
import logging
import math
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

from qanat.normalize.text import match_form, match_tokens

log = logging.getLogger(__name__)

#: Below this posterior the model abstains (the ticket goes to triage).
DEFAULT_THRESHOLD = 0.6
#: The feature set models are trained with now.
FEATURES = "words+chars3-5"
#: What a model saved without a feature set name was trained with (read, never written).
LEGACY_FEATURES = "words+chars4"


def features(text: str) -> list[str]:
    """Words and edge-marked character 3- to 5-grams of a text's match form, each once."""
    tokens = match_tokens(match_form(text))
    found = dict.fromkeys(tokens)
    for token in tokens:
        marked = f"<{token}>"
        for size in (3, 4, 5):
            found.update(
                dict.fromkeys(f"#{marked[i : i + size]}" for i in range(len(marked) - size + 1))
            )
    return list(found)


def _legacy_features(text: str) -> list[str]:
    tokens = match_tokens(match_form(text))
    grams = [f"#{t[i : i + 4]}" for t in tokens if len(t) > 4 for i in range(len(t) - 3)]
    return tokens + grams


_FEATURE_SETS: dict[str, Callable[[str], list[str]]] = {
    FEATURES: features,
    LEGACY_FEATURES: _legacy_features,
}


@dataclass
class LearnedRouter:
    """Multinomial naive Bayes over :func:`features`, with Laplace smoothing."""

    counts: dict[str, dict[str, int]] = field(default_factory=dict)
    totals: dict[str, int] = field(default_factory=dict)
    documents: dict[str, int] = field(default_factory=dict)
    vocabulary: int = 0
    threshold: float = DEFAULT_THRESHOLD
    feature_set: str = FEATURES

    @classmethod
    def train(
        cls, examples: Iterable[tuple[str, str]], threshold: float = DEFAULT_THRESHOLD
    ) -> LearnedRouter:
        """Learn from (text, department) pairs: the archive and staff corrections."""
        counts: dict[str, Counter[str]] = defaultdict(Counter)
        documents: Counter[str] = Counter()
        for text, department in examples:
            counts[department].update(features(text))
            documents[department] += 1
        vocabulary = len({f for c in counts.values() for f in c})
        return cls(
            counts={d: dict(c) for d, c in counts.items()},
            totals={d: sum(c.values()) for d, c in counts.items()},
            documents=dict(documents),
            vocabulary=vocabulary,
            threshold=threshold,
        )

    def _known(self, text: str) -> list[str]:
        extract = _FEATURE_SETS[self.feature_set]
        found = extract(text)
        if self.feature_set == LEGACY_FEATURES:
            return found  # older models smoothed unseen features: keep their answers
        return [f for f in found if f in self._seen]

    @cached_property
    def _seen(self) -> frozenset[str]:
        return frozenset(f for words in self.counts.values() for f in words)

    def scores(self, text: str) -> dict[str, float]:
        """Posterior probability per department (empty: untrained, or nothing familiar)."""
        found = self._known(text)
        if not self.documents or not found:
            return {}
        all_docs = sum(self.documents.values())
        logs = {}
        for department, count in self.documents.items():
            words, total = self.counts[department], self.totals[department] + self.vocabulary + 1
            logs[department] = math.log(count / all_docs) + sum(
                math.log((words.get(f, 0) + 1) / total) for f in found
            )
        top = max(logs.values())
        weights = {d: math.exp(v - top) for d, v in logs.items()}
        norm = sum(weights.values())
        return {d: w / norm for d, w in weights.items()}

    def predict(self, text: str) -> tuple[str, float] | None:
        """The most likely department and its posterior, or None when it cannot say."""
        scores = self.scores(text)
        if not scores:
            return None
        department = max(scores, key=lambda d: scores[d])
        return department, scores[department]

    def to_json(self) -> str:
        """The model as JSON (for a file or the store)."""
        return json.dumps(
            {
                "counts": self.counts,
                "totals": self.totals,
                "documents": self.documents,
                "vocabulary": self.vocabulary,
                "threshold": self.threshold,
                "feature_set": self.feature_set,
            },
            ensure_ascii=False,
        )

    @classmethod
    def from_json(cls, text: str) -> LearnedRouter:
        """A model saved with :meth:`to_json` (older files keep their own features)."""
        data = json.loads(text)
        data.setdefault("feature_set", LEGACY_FEATURES)
        if data["feature_set"] not in _FEATURE_SETS:
            raise ValueError(f"unknown feature set {data['feature_set']!r}: retrain the model")
        return cls(**data)


class ModelFile:
    """The model file ``qanat router train`` writes, read again when it changes.

    A running ``qanat serve`` or worker picks up a retrained model without a restart; a
    file that cannot be read keeps the last good model (and says so in the log).
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._stamp: tuple[float, int] | None = None
        self._model: LearnedRouter | None = None

    def current(self) -> LearnedRouter | None:
        """The model now (None until the file exists)."""
        try:
            stat = self.path.stat()
        except OSError:
            return self._model
        stamp = (stat.st_mtime, stat.st_size)
        if stamp != self._stamp:
            try:
                self._model = LearnedRouter.from_json(self.path.read_text(encoding="utf-8"))
            except (OSError, ValueError, TypeError) as exc:
                log.warning("cannot read the routing model %s: %s", self.path, exc)
            self._stamp = stamp
        return self._model
