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
from functools import lru_cache
from itertools import chain
from typing import NamedTuple

from qanat.normalize.text import language_of_match, match_tokens, strip_prefix

#: The lengths of the letter pieces compared (2–3 ranked Arabic pairs as well as 2–4
#: in ``bench/matching.py``, with a third fewer pieces to count per text).
SHORTEST, LONGEST = 2, 3


class Profile(NamedTuple):
    """A text's letter pieces, each weighed 1 + log(count), and the scale that gives the
    weights length one (kept apart: scaling every weight would cost a text a second pass)."""

    weights: dict[str, float]
    scale: float


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
    """The unit-length letter-piece profile of a match form (cached: the index and the
    store's check compare the same texts again); ``words``: its meaningful words, when
    already known (the index keeps them)."""
    meaningful = meaningful_words(match_text) if words is None else words
    counts = Counter(chain.from_iterable(map(_pieces, meaningful.split())))
    counts.update(
        chain.from_iterable(
            _stripped_pieces(word)
            for word in match_text.split()
            if not word.isdigit()  # numbers are addresses and phones: the place compares them
        )
    )
    if not counts:
        return _EMPTY
    if max(counts.values()) < len(_SUBLINEAR):  # a short text's counts: looked up
        weights = dict(zip(counts, map(_SUBLINEAR.__getitem__, counts.values()), strict=True))
    else:
        weights = {piece: 1.0 + math.log(n) for piece, n in counts.items()}
    return Profile(weights, 1 / math.hypot(*weights.values()))


_EMPTY = Profile({}, 0.0)


def cosine(a: Profile, b: Profile) -> float:
    """The dot product of two profiles scaled to length one (0–1)."""
    left, right = a.weights, b.weights
    shared = left.keys() & right.keys()  # a set intersection in C: few pieces are shared
    return min(1.0, sum([left[piece] * right[piece] for piece in shared]) * a.scale * b.scale)


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
