"""A body's learned pair model: how likely two reports are one problem, from the evidence.

A logistic model over the evidence :func:`qanat.dedupe.similarity.features` records:
three text similarities (letter pieces, rapidfuzz's token set and token sort ratios),
each also as it counts at the same spot, on the same street or in the same block; how
the places and problems compare; time apart; whether the texts are in two languages or
the same citizen wrote both. Its weights are learned from a body's labelled pairs
(``qanat dedupe train``, :mod:`qanat.dedupe.training`), never set by hand; the text
weights are held at zero or above, so a more similar text never lowers the score —
which lets the candidate index skip a ticket whose best possible text could not reach
the threshold. The model carries the link and suggestion thresholds chosen when it was
trained.

Until a body trains one, qanat scores by the place × problem table in
:mod:`qanat.dedupe.similarity`. qanat ships no trained model: trained on qanat's own
labelled pairs (``training_pairs.jsonl``, written for qanat, almost none with
coordinates) a model knows nothing of "the same spot", and it linked no duplicate of a
city's coordinate-only requests that the table links (``bench/matching.py``).
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from qanat.config import ReloadedFile

#: qanat's own labelled pairs (written for qanat): ``qanat dedupe train`` starts from them.
TRAINING_PAIRS = Path(__file__).parent / "training_pairs.jsonl"

#: The places and problems the model tells apart (``elsewhere`` and ``other`` are gated).
PLACES = ("spot", "street", "block", "unknown")
WORKS = ("same", "kin", "unknown")
#: The text similarities (0–1): letter pieces, token set and token sort ratios.
TEXTS = ("text", "text_set", "text_sort")
#: Where a text similarity counts on its own as well (a weight per place; text alone, the
#: unknown place, is scored by its similarity, see :func:`qanat.dedupe.similarity.score_of`).
TEXT_PLACES = ("spot", "street", "block")


def feature_names() -> tuple[str, ...]:
    """The model's inputs, in order."""
    names: list[str] = list(TEXTS)
    names += [f"{text}@{place}" for text in TEXTS for place in TEXT_PLACES]
    names += [f"where={place}" for place in PLACES]
    names += [f"work={work}" for work in WORKS]
    names += ["days_apart", "two_languages", "same_contact", "few_words"]
    return tuple(names)


FEATURES = feature_names()
#: Inputs whose weight is held at zero or above: the text similarities.
MONOTONE = frozenset(name for name in FEATURES if name.split("@")[0] in TEXTS)
#: What a text similarity adds is at most its weight: these inputs are 0–1.
_FEW_WORDS = 3
_DAYS_CAP = 30.0


def inputs(evidence: Mapping[str, Any], *, texts: Mapping[str, float] | None = None) -> list[float]:
    """The model's inputs from a pair's evidence; ``texts`` overrides the text
    similarities (the candidate index asks what the most similar text could score)."""
    where, work = str(evidence.get("where")), str(evidence.get("work"))
    similar = {name: float(evidence.get(name) or 0.0) / 100 for name in TEXTS}
    if texts is not None:
        similar |= dict(texts)
    values: list[float] = [similar[name] for name in TEXTS]
    values += [similar[name] * (where == place) for name in TEXTS for place in TEXT_PLACES]
    values += [float(where == place) for place in PLACES]
    values += [float(work == kind) for kind in WORKS]
    days = min(float(evidence.get("hours_apart") or 0.0) / 24, _DAYS_CAP) / _DAYS_CAP
    values += [
        days,
        float(bool(evidence.get("two_languages"))),
        float(bool(evidence.get("same_contact"))),
        float(int(evidence.get("words") or 0) < _FEW_WORDS),
    ]
    return values


@dataclass(frozen=True)
class PairModel:
    """Weights over :data:`FEATURES`, and the thresholds chosen when it was trained."""

    weights: tuple[float, ...]
    bias: float
    link_threshold: float
    suggest_threshold: float
    trained: dict[str, Any] = field(default_factory=dict)  # what it was trained on, measured

    def __post_init__(self) -> None:
        if len(self.weights) != len(FEATURES):
            raise ValueError(f"a pair model has {len(FEATURES)} weights, not {len(self.weights)}")
        for name, weight in zip(FEATURES, self.weights, strict=True):
            if name in MONOTONE and weight < 0:
                raise ValueError(f"the weight of {name} must not be negative")

    def probability(self, values: list[float]) -> float:
        """P(one problem) for the inputs of a pair."""
        z = self.bias + sum(w * x for w, x in zip(self.weights, values, strict=True))
        return 1 / (1 + math.exp(-max(-60.0, min(60.0, z))))

    def to_json(self) -> dict[str, Any]:
        """The file's content."""
        return {
            "features": list(FEATURES),
            "weights": [round(w, 6) for w in self.weights],
            "bias": round(self.bias, 6),
            "link_threshold": self.link_threshold,
            "suggest_threshold": self.suggest_threshold,
            "trained": self.trained,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> PairModel:
        """A model from its file's content (ValueError: not a pair model of this qanat)."""
        try:
            if list(data["features"]) != list(FEATURES):
                raise ValueError("its features are not this qanat's")
            return cls(
                weights=tuple(float(w) for w in data["weights"]),
                bias=float(data["bias"]),
                link_threshold=float(data["link_threshold"]),
                suggest_threshold=float(data["suggest_threshold"]),
                trained=dict(data.get("trained") or {}),
            )
        except (KeyError, TypeError) as exc:
            raise ValueError(f"not a pair model: {type(exc).__name__}") from exc

    def save(self, path: Path) -> None:
        """Write the model as JSON (no pickle: a file anyone can read and diff)."""
        text = json.dumps(self.to_json(), ensure_ascii=False, indent=1)
        path.write_text(text + "\n", encoding="utf-8")

    @classmethod
    def load(cls, path: Path) -> PairModel:
        """Read a model file (ValueError: unreadable or not a pair model)."""
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise ValueError(f"cannot read {path.name}: {type(exc).__name__}") from exc
        if not isinstance(data, dict):
            raise ValueError(f"{path.name} is not a pair model")
        return cls.from_json(data)


class PairModelFile(ReloadedFile[PairModel]):
    """A body's own model (``qanat dedupe train`` writes it), read again when it changes;
    None (the table) until the file exists, the last good one when it cannot be read."""

    def __init__(self, path: Path | None) -> None:
        super().__init__(path, PairModel.load, "duplicate model")
