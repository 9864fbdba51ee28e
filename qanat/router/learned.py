"""The learned part of routing: a small naive Bayes model over words and character n-grams.

Chosen over a nearest-neighbour vote because it is fast at any archive size (one pass
over the message's features, not over past tickets), trains in seconds in plain Python,
and saves as JSON in the store or a file; character 4-grams carry Arabic words across
spelling variants and attached prefixes, words carry English. Its confidence is the
posterior of the winning department; below the threshold the ticket goes to triage.
"""

from __future__ import annotations

import json
import math
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

from qanat.normalize.text import match_form, match_tokens

#: Below this posterior the model abstains (the ticket goes to triage).
DEFAULT_THRESHOLD = 0.6


def features(text: str) -> list[str]:
    """Words and character 4-grams of a text's match form."""
    tokens = match_tokens(match_form(text))
    grams = [f"#{t[i : i + 4]}" for t in tokens if len(t) > 4 for i in range(len(t) - 3)]
    return tokens + grams


@dataclass
class LearnedRouter:
    """Multinomial naive Bayes over :func:`features`, with Laplace smoothing."""

    counts: dict[str, dict[str, int]] = field(default_factory=dict)
    totals: dict[str, int] = field(default_factory=dict)
    documents: dict[str, int] = field(default_factory=dict)
    vocabulary: int = 0
    threshold: float = DEFAULT_THRESHOLD

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

    def scores(self, text: str) -> dict[str, float]:
        """Posterior probability per department."""
        if not self.documents:
            return {}
        found = features(text)
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
        """The most likely department and its posterior, or None without training."""
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
            },
            ensure_ascii=False,
        )

    @classmethod
    def from_json(cls, text: str) -> LearnedRouter:
        """A model saved with :meth:`to_json`."""
        data = json.loads(text)
        return cls(**data)
