"""How alike two texts are: the cosine of their character n-gram profiles.

Pure functions. A profile counts the 2- and 3-letter pieces of each word of a match
form (padded, so a word's start and end count), sublinearly (a repeated word weighs
little more than one), and is scaled to length one: the similarity of two texts is the
dot product of their profiles, 0 (no piece in common) to 1 (the same pieces).

Measured on Arabic pairs written by others (`bench/matching.py`), this ranks
paraphrases better than rapidfuzz's token set ratio, which scores a short text inside a
long one as identical, and it needs no corpus: the same profile serves a pair file and
a live index. The meaningful words (what the problem is) count twice and the whole
match form once, so function words still tell "how" from "why" in a question but
never outweigh what the complaint is about.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from functools import lru_cache
from itertools import chain
from typing import Any, NamedTuple

import numpy as np

from qanat.normalize.text import language_of_match, match_tokens, strip_prefix

#: The lengths of the letter pieces compared (2–3 ranked Arabic pairs as well as 2–4
#: in ``bench/matching.py``, with a third fewer pieces to count per text).
SHORTEST, LONGEST = 2, 3


class Profile(NamedTuple):
    """A text's letter pieces, each weighed 1 + log(count), and the sum of the weights'
    squares (kept apart: scaling every weight to length one would cost a second pass)."""

    weights: dict[str, float]
    squares: float


# "طريق 524", "Blk 305", "مبنى رقم 12": where, not what — place is compared on its own.
_PLACE_WORDS = frozenset(
    "طريق طريج شارع رود road rd street str st avenue ave مجمع مجموع بلوك بلك block blk blck "  # noqa: SIM905
    "blok مبني مبنا منزل بيت فيلا فيله عماره بنايه building bldg bld house villa home شقه "
    "flat apt apartment".split()
)
_NUMBER_WORDS = frozenset({"رقم", "no", "num", "number"})
# "Any update on my complaint please?", "وين وصل بلاغي": asking after a report says
# nothing of what the problem is — two such messages from two citizens are two reports.
_ASKING_AFTER = frozenset(
    "any update updates status news complaint complaints please pls plz kindly followup "  # noqa: SIM905
    "شكوي شكوتي شكوانا بلاغ بلاغي تحديث متابعه مستجدات رجاء".split()
)


@lru_cache(maxsize=16384)
def meaningful_words(match_text: str) -> str:
    """The words text similarity compares, in one string (what the index keeps): what the
    problem is, without the address (a place word and its number) the place compares."""
    tokens = match_tokens(match_text)
    kept: list[str] = []
    address = False  # inside "طريق رقم 524": the words up to the number go
    for at, token in enumerate(tokens):
        if token in _PLACE_WORDS:
            following = next((t for t in tokens[at + 1 :] if t not in _NUMBER_WORDS), "")
            address = following.isdigit()
            if address:
                continue
        elif address and token.isdigit():
            address = False
            continue
        if not (address and token in _NUMBER_WORDS) and token not in _ASKING_AFTER:
            kept.append(token)
    return " ".join(kept)


@lru_cache(maxsize=65536)
def _pieces(word: str) -> tuple[str, ...]:
    """A word's letter pieces (cached: a body's vocabulary is small, its texts many)."""
    padded = f" {word} "
    return tuple(
        padded[start : start + size]
        for size in range(SHORTEST, LONGEST + 1)
        for start in range(len(padded) - size + 1)
    )


@lru_cache(maxsize=65536)
def _stripped_pieces(word: str) -> tuple[str, ...]:
    return _pieces(strip_prefix(word))


#: 1 + log(n) for the counts a short text has, looked up rather than computed.
_SUBLINEAR = tuple([0.0] + [1.0 + math.log(n) for n in range(1, 64)])


@lru_cache(maxsize=8192)
def profile(match_text: str, words: str | None = None) -> Profile:
    """The letter-piece profile of a match form (cached: the index and the
    store's check compare the same texts again); ``words``: its meaningful words, when
    already known (the index keeps them)."""
    meaningful, every = _counted_words(match_text, words)
    counts = Counter(chain.from_iterable(map(_pieces, meaningful)))
    counts.update(chain.from_iterable(map(_stripped_pieces, every)))
    if not counts:
        return _EMPTY
    if max(counts.values()) < len(_SUBLINEAR):  # a short text's counts: looked up
        weights = dict(zip(counts, map(_SUBLINEAR.__getitem__, counts.values()), strict=True))
    else:
        weights = {piece: 1.0 + math.log(n) for piece, n in counts.items()}
    return Profile(weights, math.fsum(w * w for w in weights.values()))


_EMPTY = Profile({}, 0.0)


def _counted_words(match_text: str, words: str | None) -> tuple[list[str], list[str]]:
    """The words a profile counts the pieces of: the meaningful words (``words``, when
    known), and every word but numbers with its prefix stripped (numbers are addresses
    and phones: the place compares them)."""
    meaningful = meaningful_words(match_text) if words is None else words
    return meaningful.split(), [word for word in match_text.split() if not word.isdigit()]


def cosine(a: Profile, b: Profile) -> float:
    """The dot product of two profiles scaled to length one (0–1). Sums are exact
    (``fsum``), so the result does not depend on the order a set gives the pieces — which
    follows Python's string hashing, another in every process — and a text is exactly
    1.0 alike itself."""
    if not a.squares or not b.squares:
        return 0.0
    left, right = a.weights, b.weights
    shared = left.keys() & right.keys()  # a set intersection in C: few pieces are shared
    dot = math.fsum([left[piece] * right[piece] for piece in shared])
    return min(1.0, dot / math.sqrt(a.squares * b.squares))


#: Letter pieces numbered as first seen, for :func:`similarity_ceilings`; past this many
#: (text in scripts without end), texts are compared one by one only.
_PIECE_NUMBERS: dict[str, int] = {}
PIECES_NUMBERED = 500_000
#: Added to a cosine worked out with numpy: more than its rounding differs from
#: :func:`cosine`'s, and than a similarity's rounding to a tenth of a percent adds.
CEILING_MARGIN = 0.0006
_SUBLINEAR_ARRAY = np.array(_SUBLINEAR)


def _number(piece: str) -> int:
    return _PIECE_NUMBERS.setdefault(piece, len(_PIECE_NUMBERS))


@lru_cache(maxsize=65536)
def _numbered(word: str) -> np.ndarray[Any, Any]:
    return np.fromiter(map(_number, _pieces(word)), dtype=np.int64)


@lru_cache(maxsize=65536)
def _stripped_numbered(word: str) -> np.ndarray[Any, Any]:
    return np.fromiter(map(_number, _stripped_pieces(word)), dtype=np.int64)


def _piece_numbers(match_text: str, words: str) -> list[np.ndarray[Any, Any]]:
    """The numbers of the pieces :func:`profile` counts, each as often as it counts it,
    word by word."""
    meaningful, every = _counted_words(match_text, words)
    return [*map(_numbered, meaningful), *map(_stripped_numbered, every)]


def similarity_ceilings(
    match_text: str, words: str, others: Sequence[tuple[str, str]]
) -> list[float] | None:
    """For each of ``others`` (a match form and its meaningful words), a number its
    :func:`text_similarity` with ``match_text`` is sure not to exceed once rounded: the
    same cosine, worked out for all of them at once (numpy, a few array operations
    instead of a profile each), plus :data:`CEILING_MARGIN`. None when the pieces seen so
    far are too many to number."""
    if len(_PIECE_NUMBERS) > PIECES_NUMBERED:
        return None
    own = _piece_numbers(match_text, words)
    if not own:
        return [0.0] * len(others)
    mine, counts = np.unique(np.concatenate(own), return_counts=True)
    mine_weights = _weights(counts)
    parts: list[np.ndarray[Any, Any]] = []
    lengths: list[int] = []
    for text, said in others:
        pieces = _piece_numbers(text, said)
        parts.extend(pieces)
        lengths.append(sum(map(len, pieces)))
    if not parts:
        return [0.0] * len(others)
    span = len(_PIECE_NUMBERS) + 1
    owner = np.repeat(np.arange(len(others), dtype=np.int64), lengths)
    keys, counted = np.unique(owner * span + np.concatenate(parts), return_counts=True)
    owners, numbered = np.divmod(keys, span)
    weights = _weights(counted)
    norms = np.sqrt(np.bincount(owners, weights=weights * weights, minlength=len(others)))
    at = np.minimum(np.searchsorted(mine, numbered), len(mine) - 1)
    shared = mine[at] == numbered
    dots = np.bincount(
        owners[shared], weights=weights[shared] * mine_weights[at[shared]], minlength=len(others)
    )
    scale = norms * math.sqrt(float(mine_weights @ mine_weights))
    cosines = np.divide(dots, scale, out=np.zeros(len(others)), where=scale > 0, dtype=float)
    return [min(1.0, c + CEILING_MARGIN) for c in cosines.tolist()]


def _weights(counts: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
    if counts.max() < len(_SUBLINEAR):
        return _SUBLINEAR_ARRAY[counts]  # type: ignore[no-any-return]
    return 1.0 + np.log(counts)  # type: ignore[no-any-return]


def text_similarity(a: str, b: str, *, left: str | None = None, right: str | None = None) -> float:
    """How alike two match forms are (0–1); ``left`` / ``right`` are their meaningful
    words when already known. Two texts in different languages share few letters
    whatever they say: the pair model weighs that (:func:`languages_differ`)."""
    left = meaningful_words(a) if left is None else left
    right = meaningful_words(b) if right is None else right
    if not left or not right:
        return 0.0  # only greetings and function words: nothing says what the problem is
    return cosine(profile(a, left), profile(b, right))


def languages_differ(a: str, b: str) -> bool:
    """Arabic, English, or the two mixed: a mixed text shares only part of its letters
    with either (Arabizi and unknown scripts are left to the letters)."""
    return languages_apart(language_of_text(a), language_of_text(b))


def languages_apart(first: str, second: str) -> bool:
    """:func:`languages_differ` for two texts' languages (:func:`language_of_text`)."""
    known = {"ar", "en", "mixed"}
    return first in known and second in known and first != second


@lru_cache(maxsize=8192)
def language_of_text(match_text: str) -> str:
    """The language of a match form (cached; the index keeps its tickets' own)."""
    return language_of_match(match_text)
