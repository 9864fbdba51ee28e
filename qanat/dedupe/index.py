"""The candidate index: which open tickets a new report could repeat, found without a scan.

Pure and in memory. Each open primary ticket is filed under a few keys:

- its block × its category: the same problem in the same block, whatever the wording —
  so an Arabic tweet and an English email about one overflow meet;
- its road number: anything reported on that road (few at a time, in any block);
- its ~250 m cell of coordinates × its department (or "none"), and × "any": the same
  kind of work close by, and for a report the router left uncategorised, anything;
- its block × each of its meaningful words: the same block, told alike (another
  category, or none);
- if it says nothing of where it is, its department (or "none") × each of its words:
  text alone links only nearly identical reports of the same kind of work (or, when
  the router placed neither, of a few words at least), sent within days of each other,
  neither of which says where — and those share their rarest words.

Every list is kept in the order the tickets were sent, so a lookup reads only the
part of a long list inside the time window (by bisection), however old the backlog.

A lookup reads the new report's keys and scores what they hold with the same scorer a
full scan uses (:func:`best_match`, exact by test), skipping the text comparison of a
ticket that could not reach the floor whatever its words. The floor is the suggestion
threshold: the service links the winner only from the link threshold on. The index only
*proposes*: the store stays the truth, and the service checks the winner there.
"""

from __future__ import annotations

import math
from array import array
from bisect import bisect_left, bisect_right, insort
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from itertools import chain
from sys import intern
from typing import Any

from rapidfuzz import fuzz, process

from qanat.dedupe.pair_model import PairModel
from qanat.dedupe.similarity import (
    AREA_RADIUS,
    DEFAULT_RADIUS,
    PLACELESS_WINDOW,
    Facts,
    Place,
    Report,
    Where,
    Work,
    best_possible,
    cap_of,
    facts,
    has_place,
    score_of,
    table_score,
    text_evidence,
    where,
    work,
)
from qanat.dedupe.text import (
    language_of_text,
    languages_apart,
    meaningful_words,
    similarity_ceilings,
)
from qanat.normalize.text import language_of_match

#: At most this many candidates' texts are compared per decision, the highest possible
#: scores first and, among equals, the latest: in a dense block the rest are older
#: reports of what the first already match (``bench/dedupe.py`` counts what is missed).
TEXT_BUDGET = 64
#: The first this many texts are compared one by one; when many more are to be read, what
#: the rest could score at most is worked out for all at once, and only those that could
#: still win are compared.
COMPARED_FIRST = 4
#: Metres in a degree of latitude (anywhere), for a cheap lower bound of a distance.
METRES_PER_DEGREE = 111_000.0
#: Size of a coordinates cell in degrees: a little over NEAR_METRES at Bahrain's latitude,
#: so the 3×3 cells around a point hold everything near it.
CELL_DEGREES = 0.0025
#: At most this many tickets of the same block sharing words (most shared first) are
#: scored besides those of the same place and problem.
WORD_CANDIDATES = 32
#: At most this many tickets sharing no place are compared for text alone…
ALONE_CANDIDATES = 128
#: …from the lists of its rarest words, read this far around the report's time at most.
ALONE_READ = 512
#: Of a report's words, the postings of this many of the rarest are read (in its block,
#: and for text alone): reports told alike share their rare words, not just "road".
RAREST_WORDS = 4
#: Discarded tickets linger in postings until this share of the index is stale.
STALE_SHARE = 8
#: Lists longer than this are cut to the time window by bisection; shorter ones are read whole.
BISECT_FROM = 48

#: Of tickets sharing no place, only those whose words rapidfuzz's token sort ratio finds
#: at least this alike are scored (a cheap filter well under what text alone needs).
ALONE_PREFILTER = 55.0

Key = tuple[str, str]
#: A coordinates cell's second key part for tickets with no kind of work, and for all.
NO_PROBLEM, ANY_PROBLEM = "-", "*"


@dataclass(frozen=True, slots=True, kw_only=True)
class Entry(Place):
    """An open ticket as the index keeps it: its match form, meaningful words and place."""

    match_text: str
    words: str
    language: str


#: An entry's fields many tickets have alike (a block, a category): one copy of each value
#: is kept, not one per ticket (a million entries read from the store or a snapshot).
SHARED_FIELDS = ("block", "road", "building", "category", "department", "area", "kind", "language")


def entry_of(report: Report) -> Entry:
    """The index entry of a report (its words and language found once, here)."""
    return entry_from(
        {
            "match_text": report.match_text,
            "words": meaningful_words(report.match_text),
            "language": language_of_match(report.match_text),
            **report.place_parts(),
        }
    )


def entry_from(values: dict[str, Any]) -> Entry:
    """An entry of these field values, the values many tickets share kept once."""
    for name in SHARED_FIELDS:
        value = values.get(name)
        if isinstance(value, str):
            values[name] = intern(value)
    return Entry(**values)


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


def _cells(place: Place, *, around: bool) -> list[str]:
    if place.lat is None or place.lon is None:
        return []
    row, column = math.floor(place.lat / CELL_DEGREES), math.floor(place.lon / CELL_DEGREES)
    steps = (-1, 0, 1) if around else (0,)
    return [f"g{row + i},{column + j}" for i in steps for j in steps]


def _placed_keys(place: Place, *, around: bool) -> list[Key]:
    """The keys whose tickets share a place, and maybe the problem, with ``place``: all
    of them are scored."""
    keys: list[Key] = []
    if place.block and place.category:
        keys.append((intern("b" + place.block), intern("c" + place.category)))
    if place.road:
        keys.append((intern("r" + place.road), ""))  # a road number: few tickets at a time
    cells = [intern(cell) for cell in _cells(place, around=around)]
    problem = problem_key(place)
    if not around:  # filing: under its kind of work (or none), and under every kind
        return (
            keys
            + [(cell, intern(problem or NO_PROBLEM)) for cell in cells]
            + [(cell, ANY_PROBLEM) for cell in cells]
        )
    if problem:  # looking up: the same kind of work close by, and what has none
        return (
            keys
            + [(cell, intern(problem)) for cell in cells]
            + [(cell, NO_PROBLEM) for cell in cells]
        )
    return keys + [(cell, ANY_PROBLEM) for cell in cells]  # none: every kind close by


def keys_of(entry: Entry) -> list[Key]:
    """Every key an entry is filed under (see the module docstring)."""
    words = [intern("t" + word) for word in sorted(set(entry.words.split()))]
    keys = _placed_keys(entry, around=False)
    if entry.block:
        block = intern("b" + entry.block)
        keys += [(block, word) for word in words]
    if not has_place(entry):
        placeless = intern("-" + (problem_key(entry) or ""))
        keys += [(placeless, word) for word in words]
    return keys


def _text_alone_keys(new: Report, words: Iterable[str]) -> list[Key]:
    """Where text-alone candidates are, for a report that says nothing of where it is:
    the tickets that say nothing either, of the same kind of work (or none)."""
    if has_place(new):
        return []
    return [("-" + (problem_key(new) or ""), "t" + word) for word in words]


class CandidateIndex:
    """Open primary tickets by place, problem and words (see the module docstring)."""

    def __init__(self) -> None:
        self.entries: dict[int, Entry] = {}
        self.postings: dict[Key, list[int]] = {}
        # Long lists also keep their tickets' send times (epoch seconds), for bisection.
        self._times: dict[Key, array[float]] = {}
        self._discarded: dict[int, Entry] = {}

    def __len__(self) -> int:
        return len(self.entries)

    @classmethod
    def of(cls, tickets: Iterable[tuple[int, Entry]]) -> CandidateIndex:
        """An index of these tickets, filed at once: as putting them one by one in the
        order of their ids would file them, each list filled in time order and its send
        times taken once, at the end (a worker's start-up at a million tickets)."""
        index = cls()
        postings = index.postings
        for ticket_id, entry in sorted(tickets, key=lambda found: (found[1].created_at, found[0])):
            index.entries[ticket_id] = entry
            for key in keys_of(entry):
                filed = postings.get(key)
                if filed is None:
                    postings[key] = [ticket_id]
                else:
                    filed.append(ticket_id)
        for key, filed in postings.items():
            if len(filed) > BISECT_FROM:
                index._times[key] = index._times_of(filed)
        return index

    def __contains__(self, ticket_id: object) -> bool:
        return ticket_id in self.entries

    def put(self, ticket_id: int, entry: Entry) -> None:
        """Add a ticket, or replace what the index knows of it."""
        before = self.entries.get(ticket_id) or self._discarded.pop(ticket_id, None)
        self.entries[ticket_id] = entry
        if before is not None:
            if before.created_at == entry.created_at and keys_of(before) == keys_of(entry):
                return  # still filed under the same keys, in the same place
            self._unfile(ticket_id, keys_of(before))
        for key in keys_of(entry):
            self._file(key, ticket_id, entry.created_at)

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
        for key, gone in stale.items():
            filed, times = self.postings.get(key, []), self._times.pop(key, None)
            kept = [n for n, i in enumerate(filed) if i not in gone]
            if not kept:
                self.postings.pop(key, None)
                continue
            self.postings[key] = [filed[n] for n in kept]
            if times is not None and len(kept) > BISECT_FROM:
                self._times[key] = array("d", (times[n] for n in kept))
        self._discarded.clear()

    def _times_of(self, filed: list[int]) -> array[float]:
        """The send times (epoch seconds) of a list's tickets, for bisection."""
        return array("d", (self._sent(i).timestamp() for i in filed))

    def _sent(self, ticket_id: int) -> datetime:
        entry = self.entries.get(ticket_id) or self._discarded[ticket_id]
        return entry.created_at

    def _file(self, key: Key, ticket_id: int, sent: datetime) -> None:
        filed = self.postings.setdefault(key, [])
        times = self._times.get(key)
        if times is not None:
            at = bisect_right(times, sent.timestamp())
            filed.insert(at, ticket_id)  # at the end, usually: the newest ticket
            times.insert(at, sent.timestamp())
            return
        if not filed or self._sent(filed[-1]) <= sent:
            filed.append(ticket_id)
        else:
            insort(filed, ticket_id, key=self._sent)
        if len(filed) > BISECT_FROM:
            self._times[key] = self._times_of(filed)

    def _unfile(self, ticket_id: int, keys: Iterable[Key]) -> None:
        for key in keys:
            filed = self.postings.get(key, [])
            if ticket_id not in filed:
                continue
            at = filed.index(ticket_id)
            del filed[at]
            times = self._times.get(key)
            if times is not None:
                del times[at]
            if not filed:
                self.postings.pop(key, None)
                self._times.pop(key, None)

    def _within(
        self, key: Key, earliest: float, latest: float, *, nearest: int | None = None
    ) -> list[int]:
        """The tickets filed under ``key`` sent between two epoch times (only the
        ``nearest`` to the middle of them, when given)."""
        filed = self.postings.get(key)
        if not filed:
            return []
        times = self._times.get(key)
        if times is None:
            return filed
        start = bisect_left(times, earliest)
        end = bisect_right(times, latest, lo=start)
        if nearest is not None and end - start > nearest:
            middle = bisect_left(times, (earliest + latest) / 2, lo=start, hi=end)
            start = max(start, min(middle - nearest // 2, end - nearest))
            end = start + nearest
        return filed[start:end]

    def _rarest(
        self, keys: Iterable[Key], earliest: float, latest: float, *, nearest: int | None = None
    ) -> list[list[int]]:
        """The shortest RAREST_WORDS non-empty lists of ``keys``, inside the time window."""
        lists = (self._within(key, earliest, latest, nearest=nearest) for key in keys)
        return sorted((filed for filed in lists if filed), key=len)[:RAREST_WORDS]

    def _nearly_the_same(self, words: str, ids: Iterable[int]) -> list[int]:
        """Of tickets sharing no place with a report, those whose words are alike enough
        to be worth scoring (one C loop instead of scoring each)."""
        choices = {i: self.entries[i].words for i in ids if i in self.entries}
        found = process.extract(
            words, choices, scorer=fuzz.token_sort_ratio, score_cutoff=ALONE_PREFILTER, limit=None
        )
        return [ticket_id for _words, _score, ticket_id in found]

    def propose(self, new: Report, words: str, window: timedelta) -> tuple[set[int], list[int]]:
        """Candidates for ``new``: those to score in full, and those sharing its words."""
        sent = new.created_at.timestamp()
        earliest, latest = sent - window.total_seconds(), sent + window.total_seconds()
        placed: set[int] = set()
        for key in _placed_keys(new, around=True):
            placed.update(self._within(key, earliest, latest))
        # In a fixed order: of lists as short as each other, the first are read — the same
        # ones whatever order Python's string hashing gives a set this time.
        terms = sorted(set(words.split()))
        shared: list[int] = []
        if new.block:
            block = "b" + new.block
            told = self._rarest([(block, "t" + w) for w in terms], earliest, latest)
            by_words = Counter(chain.from_iterable(told))
            shared = [i for i, _n in by_words.most_common(WORD_CANDIDATES) if i not in placed]
        close = min(window, PLACELESS_WINDOW).total_seconds()
        rarest = self._rarest(
            _text_alone_keys(new, terms), sent - close, sent + close, nearest=ALONE_READ
        )
        # Nearly the same words: at least two of the rarest (one may be the word that differs),
        # the most shared first, then the latest (the lists are in time order).
        needed = min(2, len(rarest))
        by_words = Counter(chain.from_iterable(reversed(filed) for filed in rarest))
        alike = [i for i, n in by_words.most_common(ALONE_CANDIDATES) if n >= needed]
        shared += self._nearly_the_same(words, set(alike).difference(placed, shared))
        return placed, shared

    def best_match(
        self,
        new: Report,
        *,
        threshold: float,
        window: timedelta,
        exclude: int | None = None,
        radius: float = DEFAULT_RADIUS,
        model: PairModel | None = None,
    ) -> Match | None:
        """The best open ticket for ``new`` at or above ``threshold``, through the index."""
        words = meaningful_words(new.match_text)
        placed, shared = self.propose(new, words, window)
        candidates = self._entries(chain(placed, shared), exclude)
        return best_match(new, candidates, threshold, window, radius, model)

    def scan(
        self,
        new: Report,
        *,
        threshold: float,
        window: timedelta,
        exclude: int | None = None,
        radius: float = DEFAULT_RADIUS,
        model: PairModel | None = None,
    ) -> Match | None:
        """:meth:`best_match` over every open ticket: the brute force the index avoids."""
        candidates = self._entries(self.entries, exclude)
        return best_match(new, candidates, threshold, window, radius, model)

    def _entries(self, ids: Iterable[int], exclude: int | None) -> Iterator[tuple[int, Entry]]:
        for ticket_id in ids:
            entry = self.entries.get(ticket_id)
            if entry is not None and ticket_id != exclude:
                yield ticket_id, entry


def best_match(
    new: Report,
    candidates: Iterable[tuple[int, Entry]],
    threshold: float,
    window: timedelta,
    radius: float = DEFAULT_RADIUS,
    model: PairModel | None = None,
) -> Match | None:
    """The highest-scoring candidate at or above ``threshold`` (ties: the older ticket).

    What scoring each candidate with ``combined_score(features(...))`` would pick (exact
    by test up to :data:`TEXT_BUDGET` candidates): a ticket's texts are compared only when
    its place and problem let its best possible text beat the best so far.
    """
    earliest, latest = new.created_at - window, new.created_at + window
    words = meaningful_words(new.match_text)
    told = len(words.split())
    language = language_of_text(new.match_text)
    # Place and problem first (cheap), then texts from the highest possible score down:
    # once the best so far beats what the rest could reach at most, they are not read.
    hopeful: list[tuple[float, int, Entry, Facts, Where, Work, int, float]] = []
    for ticket_id, entry in candidates:
        if not earliest <= entry.created_at <= latest:
            continue
        if _elsewhere(new, entry, radius):
            continue  # scores at most 30, under any threshold the rules allow
        known = facts(new, entry)
        place, problem = where(known, radius), work(known)
        fewer = min(told, len(entry.words.split()))
        cap = cap_of(
            place,
            problem,
            thanks_and_problem=known.thanks_and_problem,
            placeless=known.placeless,
            hours_apart=known.hours_apart,
            words=fewer,
        )
        if model is None:  # the table's best, without building the evidence (a perfect
            # text is as alike in any language)
            bound = table_score(
                place, problem, cap, 1.0, hours_apart=known.hours_apart, two_languages=False
            )
        else:
            two_languages = languages_apart(language, entry.language)
            evidence = _evidence(known, place, problem, radius, fewer, two_languages)
            bound = best_possible(evidence, model)
        if bound >= threshold:
            hopeful.append((bound, ticket_id, entry, known, place, problem, fewer, cap))
    hopeful.sort(key=lambda found: (-found[0], -found[2].created_at.timestamp()))
    best: tuple[float, datetime, int] | None = None
    ceilings: list[float] | None = None
    for read, (bound, ticket_id, entry, known, place, problem, fewer, cap) in enumerate(hopeful):
        if (best is not None and bound < best[0]) or read >= TEXT_BUDGET:
            break
        two_languages = languages_apart(language, entry.language)
        if read == COMPARED_FIRST and model is None and len(hopeful) >= 2 * COMPARED_FIRST:
            # Many texts to read yet: what each could score at most, all at once.
            ahead = hopeful[read:TEXT_BUDGET]
            ceilings = similarity_ceilings(
                new.match_text, words, [(found[2].match_text, found[2].words) for found in ahead]
            )
        if ceilings is not None:
            most = table_score(
                place,
                problem,
                cap,
                ceilings[read - COMPARED_FIRST],
                hours_apart=known.hours_apart,
                two_languages=two_languages,
            )
            if most < (threshold if best is None else best[0]):
                continue  # its text could not make it the best
        texts = text_evidence(
            new.match_text, entry.match_text, left=words, right=entry.words,
            ratios=model is not None,
        )  # fmt: skip
        if model is None:
            score = table_score(
                place,
                problem,
                cap,
                texts["text"] / 100,
                hours_apart=known.hours_apart,
                two_languages=two_languages,
            )
        else:
            evidence = _evidence(known, place, problem, radius, fewer, two_languages)
            score = score_of({**evidence, **texts}, model)
        if score < (threshold if best is None else best[0]):
            continue
        candidate = (score, entry.created_at, ticket_id)
        if best is None or _better(candidate, best):
            best = candidate
    return None if best is None else Match(ticket_id=best[2], score=best[0])


def _evidence(
    known: Facts, place: Where, problem: Work, radius: float, words: int, two_languages: bool
) -> dict[str, object]:
    """A candidate's evidence besides its texts, as :func:`place_evidence` records it."""
    return {
        **known._asdict(),
        "where": place.value,
        "work": problem.value,
        "radius_m": radius,
        "words": words,
        "two_languages": two_languages,
    }


def _elsewhere(new: Report, entry: Entry, radius: float) -> bool:
    """Surely elsewhere, on what is cheap to compare (as :func:`where` decides): another
    block or area, two house numbers (unless the problem covers an area), coordinates
    further apart than twice ``radius`` metres (by latitude alone, a lower bound), or,
    where one of the two has none, another road."""
    if new.block and entry.block and new.block != entry.block:
        return True
    if new.area and entry.area and new.area != entry.area:
        return True
    if (
        new.building is not None
        and entry.building is not None
        and new.building != entry.building
        and radius < AREA_RADIUS
    ):
        return True
    if new.lat is not None and entry.lat is not None:
        return abs(new.lat - entry.lat) * METRES_PER_DEGREE > 2 * radius
    return new.road is not None and entry.road is not None and new.road != entry.road


def _better(a: tuple[float, datetime, int], b: tuple[float, datetime, int]) -> bool:
    """Higher score; on a tie, the older ticket (the first report carries the work)."""
    return a[0] > b[0] or (a[0] == b[0] and (a[1], a[2]) < (b[1], b[2]))
