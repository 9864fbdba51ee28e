"""The learned part of routing: a linear model over character n-grams, scored with numpy.

What it is: TF-IDF over the character 2- to 5-grams inside each word of the match form
(scikit-learn's ``char_wb``: the n-grams carry an Arabic word across its attached
prepositions and pronouns and across dialect spellings), a linear SVM trained with
class-balanced weights (a small department's tickets are not routed away because it is
small), and one temperature that turns its scores into calibrated probabilities
(``p = softmax(beta × score)``). Below :attr:`LearnedRouter.threshold` the router is
really unsure and the ticket goes to triage with the model's guess as a suggestion.

Training needs scikit-learn (:mod:`qanat.router.training`); routing does not. A model is
saved as an ``.npz`` of plain arrays with a JSON header (no pickle: a model file cannot
run code, and a new scikit-learn release cannot make it unreadable). The vectorizer is
re-implemented here exactly (a test pins it against scikit-learn).
"""

from __future__ import annotations

import json
import math
import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from qanat.config import ReloadedFile
from qanat.normalize.text import match_form

#: What a model file says it is; another value is refused with a "retrain" message.
FORMAT = "qanat.router.linear/1"
#: Below this calibrated probability the model abstains (the ticket goes to triage).
DEFAULT_THRESHOLD = 0.5
#: The n-gram sizes inside words.
NGRAMS = (2, 5)
_SPACES = re.compile(r"\s\s+")

Floats = npt.NDArray[np.float64]


def char_wb_ngrams(text: str, low: int = NGRAMS[0], high: int = NGRAMS[1]) -> list[str]:
    """scikit-learn's ``char_wb`` n-grams: inside each word, padded with one space."""
    grams: list[str] = []
    for word in _SPACES.sub(" ", text).split():
        padded = f" {word} "
        for size in range(low, high + 1):
            offset = 0
            grams.append(padded[offset : offset + size])
            while offset + size < len(padded):
                offset += 1
                grams.append(padded[offset : offset + size])
            if offset == 0:  # a word shorter than the n-gram counts once
                break
    return grams


def prepared(text: str) -> str:
    """The text the model reads: its match form, lower-cased as the vectorizer does."""
    return match_form(text).lower()


@dataclass(frozen=True)
class LearnedRouter:
    """A trained router: vocabulary, idf, one weight row per n-gram, a temperature."""

    departments: tuple[str, ...]
    vocabulary: dict[str, int]
    idf: Floats
    #: (n-grams, departments): the weights of one n-gram are one row.
    weights: npt.NDArray[np.float32]
    intercept: Floats
    beta: float
    threshold: float = DEFAULT_THRESHOLD
    #: How it was trained (examples, corrections, C, …), for ``qanat router eval``.
    training: dict[str, Any] | None = None

    def scores(self, text: str) -> dict[str, float]:
        """Calibrated probability per department (empty: nothing in the text it knows)."""
        counts = Counter(g for g in char_wb_ngrams(prepared(text)) if g in self.vocabulary)
        if not counts:
            return {}
        columns = np.fromiter((self.vocabulary[g] for g in counts), np.int64, len(counts))
        values = 1.0 + np.log(np.fromiter(counts.values(), np.float64, len(counts)))
        values *= self.idf[columns]
        values /= math.sqrt(float(values @ values))
        raw = self.intercept + values @ self.weights[columns].astype(np.float64)
        scaled = self.beta * raw
        scaled -= scaled.max()
        chances = np.exp(scaled)
        chances /= chances.sum()
        return {d: float(p) for d, p in zip(self.departments, chances, strict=True)}

    def predict(self, text: str) -> tuple[str, float] | None:
        """The most likely department and its probability, or None when it cannot say."""
        found = self.scores(text)
        if not found:
            return None
        department = max(found, key=lambda d: found[d])
        return department, found[department]

    def knows(self, department: str) -> bool:
        """Whether the model was trained on tickets of ``department``."""
        return department in self.departments

    def header(self) -> dict[str, Any]:
        """Everything but the arrays: what the file says about the model."""
        return {
            "format": FORMAT,
            "departments": list(self.departments),
            "beta": self.beta,
            "threshold": self.threshold,
            "ngrams": list(NGRAMS),
            "training": self.training or {},
        }

    def save(self, path: Path) -> None:
        """Write the model as an ``.npz`` (terms as UTF-8 text, no pickle), atomically."""
        terms = [""] * len(self.vocabulary)
        for term, column in self.vocabulary.items():
            terms[column] = term
        arrays = {
            "header": _bytes(json.dumps(self.header(), ensure_ascii=False)),
            "terms": _bytes("\n".join(terms)),
            "idf": self.idf.astype(np.float32),
            "weights": self.weights.astype(np.float32),
            "intercept": self.intercept.astype(np.float64),
        }
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_name(path.name + ".part")
        with partial.open("wb") as handle:
            np.savez_compressed(handle, **arrays)  # type: ignore[arg-type]
        partial.replace(path)

    @classmethod
    def load(cls, path: Path) -> LearnedRouter:
        """A model saved with :meth:`save`; ``ValueError`` names what is wrong."""
        try:
            with np.load(path, allow_pickle=False) as found:
                header = json.loads(bytes(found["header"]).decode("utf-8"))
                terms = bytes(found["terms"]).decode("utf-8").split("\n")
                idf, weights = found["idf"], found["weights"]
                intercept = found["intercept"]
        except (OSError, KeyError, EOFError, json.JSONDecodeError) as exc:
            raise ValueError(f"{path} is not a routing model: retrain it ({exc})") from exc
        except Exception as exc:  # numpy raises several kinds for a file that isn't an npz
            raise ValueError(f"{path} is not a routing model: retrain it") from exc
        if header.get("format") != FORMAT:
            raise ValueError(
                f"{path} holds a {header.get('format')!r} model; this qanat reads {FORMAT}: "
                "retrain it with qanat router train"
            )
        return cls(
            departments=tuple(header["departments"]),
            vocabulary={term: column for column, term in enumerate(terms)},
            idf=idf.astype(np.float64),
            weights=weights.astype(np.float32),
            intercept=intercept.astype(np.float64),
            beta=float(header["beta"]),
            threshold=float(header["threshold"]),
            training=header.get("training") or None,
        )


def _bytes(text: str) -> npt.NDArray[np.uint8]:
    return np.frombuffer(text.encode("utf-8"), dtype=np.uint8)


class ModelFile(ReloadedFile[LearnedRouter]):
    """The model file ``qanat router train`` writes, read again when it changes.

    A running ``qanat serve`` or worker picks up a retrained model without a restart; a
    file that cannot be read keeps the last good model (and says so in the log).
    """

    def __init__(self, path: Path) -> None:
        super().__init__(path, LearnedRouter.load, "routing model")
