"""The candidate index: which open tickets a new report could repeat, found without a scan.

Pure and in memory. Each open primary ticket is filed under a few keys:

- its place (block, road, a ~250 m cell of its coordinates) × its problem (department,
  else category): the same kind of work at the same place, whatever the wording, so an
  Arabic tweet and an English email about one overflow meet;
- its block and road together: anything reported on that road of that block;
- its block × each of its meaningful words: the same block, told alike;
- its problem × each of its words: text alone (no shared place) links only nearly
  identical reports of the same kind of work, which share their rarest word.

A lookup reads the new report's keys and scores what they hold with the same scorer a
full scan would use (:func:`best_match`), skipping the text comparison of a ticket that
could not reach the threshold whatever its words. The index only *proposes*: the store
remains the truth, and the service checks the winner there before linking.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from itertools import chain

from qanat.dedupe.similarity import (
    TEXT_WEIGHT,
    Place,
    Report,
    finish,
    meaningful_words,
    place_evidence,
    place_score,
    shares_place,
    whole_words_score,
    words_score,
)

#: Size of a coordinates cell in degrees: a little over NEAR_METRES at Bahrain's latitude,
#: so the 3×3 cells around a point hold everything near it.
CELL_DEGREES = 0.0025
#: At most this many tickets of the same block sharing words (most shared first) are
#: scored besides those of the same place and problem.
WORD_CANDIDATES = 64
#: For text alone, the postings of this many of the report's rarest words are read.
RAREST_WORDS = 2
#: Discarded tickets linger in postings until this share of the index is stale.
STALE_SHARE = 8

Key = tuple[str, str]
#: Text points under the exact need that are still compared (rounding never moves more).
_SLACK = 0.5


@dataclass(frozen=True, slots=True)
class Entry:
    """An open ticket as the index keeps it: its meaningful words and its place."""

    words: str
    created_at: datetime
    block: str | None = None
    road: str | None = None
    building: str | None = None
    category: str | None = None
    department: str | None = None
    lat: float | None = None
    lon: float | None = None
    contact_id: int | None = None


def entry_of(report: Report) -> Entry:
    """The index entry of a report (its words computed once, here)."""
    return Entry(
        words=meaningful_words(report.match_text),
        created_at=report.created_at,
        block=report.block,
        road=report.road,
        building=report.building,
        category=report.category,
        department=report.department,
        lat=report.lat,
        lon=report.lon,
        contact_id=report.contact_id,
    )


@dataclass(frozen=True)
class Match:
    """The best open ticket for a report, and its score."""

    ticket_id: int
    score: float


def problem_key(place: Place) -> str | None:
    """The kind of work: the department when a category named it, else the category."""
    if place.department:
        return "d" + place.department
    return "c" + place.category if place.category else None


def _cell(lat: float, lon: float) -> tuple[int, int]:
    return math.floor(lat / CELL_DEGREES), math.floor(lon / CELL_DEGREES)


def _places(place: Place, *, around: bool) -> list[str]:
    found = []
    if place.block:
        found.append("b" + place.block)
    if place.road:
        found.append("r" + place.road)
    if place.lat is not None and place.lon is not None:
        row, column = _cell(place.lat, place.lon)
        steps = (-1, 0, 1) if around else (0,)
        found += [f"g{row + i},{column + j}" for i in steps for j in steps]
    return found


def keys_of(entry: Entry) -> list[Key]:
    """Every key an entry is filed under (see the module docstring)."""
    problem = problem_key(entry)
    words = sorted(set(entry.words.split()))
    keys: list[Key] = []
    if problem:
        keys += [(place, problem) for place in _places(entry, around=False)]
        keys += [(problem, "t" + word) for word in words]
    if entry.block:
        keys += [("b" + entry.block, "t" + word) for word in words]
        if entry.road:
            keys.append(("b" + entry.block, "r" + entry.road))
    return keys


class CandidateIndex:
    """Open primary tickets by place, problem and words (see the module docstring)."""

    def __init__(self) -> None:
        self.entries: dict[int, Entry] = {}
        self.postings: dict[Key, list[int]] = {}
        self._discarded: dict[int, Entry] = {}

    def __len__(self) -> int:
        return len(self.entries)

    def __contains__(self, ticket_id: object) -> bool:
        return ticket_id in self.entries

    def put(self, ticket_id: int, entry: Entry) -> None:
        """Add a ticket, or replace what the index knows of it."""
        before = self.entries.get(ticket_id) or self._discarded.pop(ticket_id, None)
        self.entries[ticket_id] = entry
        if before is not None:
            if keys_of(before) == keys_of(entry):
                return  # still filed under the same keys
            self._unfile(ticket_id, keys_of(before))
        for key in keys_of(entry):
            self.postings.setdefault(key, []).append(ticket_id)

    def discard(self, ticket_id: int) -> None:
        """Forget a ticket (closed, linked, deleted); its postings are cleared in batches."""
        entry = self.entries.pop(ticket_id, None)
        if entry is None:
            return
        self._discarded[ticket_id] = entry
        if len(self._discarded) * STALE_SHARE > max(len(self.entries), 1000):
            self.compact()

    def compact(self) -> None:
        """Remove discarded tickets from the postings (one pass over the lists they were in)."""
        stale: dict[Key, set[int]] = {}
        for ticket_id, entry in self._discarded.items():
            for key in keys_of(entry):
                stale.setdefault(key, set()).add(ticket_id)
        self._discarded.clear()
        for key, gone in stale.items():
            kept = [i for i in self.postings.get(key, ()) if i not in gone]
            if kept:
                self.postings[key] = kept
            else:
                self.postings.pop(key, None)

    def _unfile(self, ticket_id: int, keys: Iterable[Key]) -> None:
        for key in keys:
            filed = self.postings.get(key)
            if filed and ticket_id in filed:
                filed.remove(ticket_id)
                if not filed:
                    del self.postings[key]

    def propose(self, new: Report, words: str) -> tuple[set[int], list[int]]:
        """Candidates for ``new``: those to score in full, and those sharing its words."""
        problem = problem_key(new)
        lists = []
        if problem:
            lists += [self.postings.get((place, problem)) for place in _places(new, around=True)]
        if new.block and new.road:
            lists.append(self.postings.get(("b" + new.block, "r" + new.road)))
        placed = set(chain.from_iterable(filed for filed in lists if filed))
        terms = set(words.split())
        shared: list[int] = []
        if new.block:
            by_words = Counter(
                chain.from_iterable(
                    self.postings.get(("b" + new.block, "t" + w), ()) for w in terms
                )
            )
            shared = [i for i, _n in by_words.most_common(WORD_CANDIDATES) if i not in placed]
        if problem:
            rarest = sorted((self.postings.get((problem, "t" + w), []) for w in terms), key=len)[
                :RAREST_WORDS
            ]
            shared += [i for i in set(chain.from_iterable(rarest)) if i not in placed]
        return placed, shared

    def best_match(
        self,
        new: Report,
        *,
        threshold: float,
        window: timedelta,
        exclude: int | None = None,
    ) -> Match | None:
        """The best open ticket for ``new`` at or above ``threshold``, through the index."""
        words = meaningful_words(new.match_text)
        placed, shared = self.propose(new, words)
        return best_match(
            new, words, self._entries(chain(placed, shared), exclude), threshold, window
        )

    def scan(
        self, new: Report, *, threshold: float, window: timedelta, exclude: int | None = None
    ) -> Match | None:
        """:meth:`best_match` over every open ticket: the brute force the index avoids."""
        words = meaningful_words(new.match_text)
        return best_match(new, words, self._entries(self.entries, exclude), threshold, window)

    def _entries(self, ids: Iterable[int], exclude: int | None) -> Iterator[tuple[int, Entry]]:
        for ticket_id in ids:
            entry = self.entries.get(ticket_id)
            if entry is not None and ticket_id != exclude:
                yield ticket_id, entry


def best_match(
    new: Report,
    words: str,
    candidates: Iterable[tuple[int, Entry]],
    threshold: float,
    window: timedelta,
) -> Match | None:
    """The highest-scoring candidate at or above ``threshold`` (ties: the older ticket).

    Exactly what scoring each candidate with ``combined_score(features(...))`` would
    pick: a text comparison is skipped only when even a perfect text score could not
    beat the best so far.
    """
    earliest, latest = new.created_at - window, new.created_at + window
    best: tuple[float, datetime, int] | None = None
    for ticket_id, entry in candidates:
        if not earliest <= entry.created_at <= latest:
            continue
        if new.block and entry.block and new.block != entry.block:
            continue  # other blocks score at most 30: never a link
        evidence = place_evidence(new, entry)
        base = place_score(evidence)
        if base is None:
            continue
        target = threshold if best is None else best[0]
        # A little under what is needed: the score is rounded, and so are the text scores.
        needed = (target - base) / TEXT_WEIGHT - _SLACK
        if needed > 100:
            continue
        text = round(words_score(words, entry.words, cutoff=max(0.0, needed)), 1)
        whole = 0.0  # only text alone needs the whole texts alike
        if text and not shares_place(evidence):
            whole = round(whole_words_score(words, entry.words), 1)
        score = finish(base, text, whole, evidence)
        if score < target:
            continue
        candidate = (score, entry.created_at, ticket_id)
        if best is None or _better(candidate, best):
            best = candidate
    return None if best is None else Match(ticket_id=best[2], score=best[0])


def _better(a: tuple[float, datetime, int], b: tuple[float, datetime, int]) -> bool:
    """Higher score; on a tie, the older ticket (the first report carries the work)."""
    return a[0] > b[0] or (a[0] == b[0] and (a[1], a[2]) < (b[1], b[2]))
