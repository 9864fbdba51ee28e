"""How alike two complaints are: text similarity plus place, category and time.

Pure functions. The text score is rapidfuzz's ``token_set_ratio`` over the meaningful
words of the match forms (prefixes stripped, stop words gone): token-based, so Arabic
word order and extra words ("الله يعطيكم العافية") don't matter, and a short report
whose words all appear in a longer one scores high. Place, category and time then
decide, because the same problem told in Arabic and in English shares no words.

The score is split in two so the candidate index can skip the text comparison of a
ticket that could not reach the threshold whatever its words: :func:`place_score` is
what place, category and time give, :func:`finish` adds the text.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields
from datetime import datetime, timedelta
from typing import Any, NamedTuple

from rapidfuzz import fuzz

from qanat.model import Location, Normalized, RoutingDecision
from qanat.normalize.text import match_tokens

#: Default score (0–100) from which a new ticket is linked to an open primary.
DEFAULT_THRESHOLD = 55.0
#: The lowest threshold a rules file may set: below it, other places would link.
MIN_THRESHOLD = 40.0
#: Default days apart within which two reports can be about one problem.
DEFAULT_WINDOW = timedelta(days=14)
#: Without a place (neither of the two saying where it is), text alone must be at least
#: this close…
TEXT_ONLY_MINIMUM = 88.0
#: …and the reports this close in time; otherwise the score stays under any threshold.
PLACELESS_WINDOW = timedelta(days=3)
PLACELESS_HOURS = PLACELESS_WINDOW.total_seconds() / 3600
#: Reports further apart than this (metres) are about different places.
NEAR_METRES = 250.0
#: The weight of the text score (0–100) in the combined score.
TEXT_WEIGHT = 0.5
#: What each fact adds to the combined score. The same category in the same block is
#: close to enough on its own: the same problem told in Arabic and in English shares no
#: words. Another road of the same block, or another department's work, is all but never
#: the same problem; another category of the same department at the same spot may be.
SAME_CATEGORY, SAME_DEPARTMENT, OTHER_DEPARTMENT = 35.0, 0.0, -25.0
SAME_BLOCK, SAME_ROAD, OTHER_ROAD, SAME_BUILDING, NEAR = 20.0, 15.0, -60.0, 5.0, 20.0


# "طريق 524", "Blk 305", "مبنى رقم 12": where, not what — place is compared on its own.
_PLACE_WORDS = frozenset(
    "طريق طريج شارع رود road rd street str st avenue ave مجمع مجموع بلوك بلك block blk blck "  # noqa: SIM905
    "blok مبني مبنا منزل بيت فيلا فيله عماره بنايه building bldg bld house villa home شقه "
    "flat apt apartment".split()
)
_NUMBER_WORDS = frozenset({"رقم", "no", "num", "number"})


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
        if not (address and token in _NUMBER_WORDS):
            kept.append(token)
    return " ".join(kept)


def words_score(left: str, right: str, cutoff: float = 0.0) -> float:
    """Similarity (0–100) of two :func:`meaningful_words` strings; 0 when under ``cutoff``."""
    if not left or not right:
        return 0.0
    return float(fuzz.token_set_ratio(left, right, score_cutoff=cutoff))


def whole_words_score(left: str, right: str, cutoff: float = 0.0) -> float:
    """All the words, order-free: a short text inside a long one isn't enough."""
    if not left or not right:
        return 0.0
    return float(fuzz.token_sort_ratio(left, right, score_cutoff=cutoff))


def text_score(a: str, b: str) -> float:
    """Similarity (0–100) of two match forms' meaningful words."""
    return words_score(meaningful_words(a), meaningful_words(b))


def whole_text_score(a: str, b: str) -> float:
    """:func:`whole_words_score` of two match forms."""
    return whole_words_score(meaningful_words(a), meaningful_words(b))


@dataclass(frozen=True, slots=True, kw_only=True)
class Place:
    """What dedupe compares of a ticket besides its words: where, what kind, when, who."""

    created_at: datetime
    block: str | None = None
    road: str | None = None
    building: str | None = None
    category: str | None = None
    department: str | None = None
    lat: float | None = None
    lon: float | None = None
    contact_id: int | None = None
    area: str | None = None

    def place_parts(self) -> dict[str, Any]:
        """The fields above, to copy them into a report or an index entry."""
        return {name: getattr(self, name) for name in _PLACE_FIELDS}


_PLACE_FIELDS = tuple(field.name for field in fields(Place))


@dataclass(frozen=True, slots=True, kw_only=True)
class Report(Place):
    """What dedupe compares of a ticket (new or open): its match form and its place."""

    match_text: str


def report_of_message(
    normalized: Normalized,
    decision: RoutingDecision,
    *,
    received_at: datetime,
    contact_id: int | None = None,
) -> Report:
    """A new message as dedupe compares it: its words, place, category and time."""
    place = normalized.location or Location()
    return Report(
        match_text=normalized.match_text,
        created_at=received_at,
        block=place.block,
        road=place.road,
        building=place.building,
        category=decision.category,
        # A department says what the problem is only when a category named it.
        department=decision.department if decision.category else None,
        lat=place.lat,
        lon=place.lon,
        contact_id=contact_id,
        area=place.area,
    )


def metres_between(a: Place, b: Place) -> float | None:
    """Great-circle distance in metres, when both have coordinates."""
    if a.lat is None or a.lon is None or b.lat is None or b.lon is None:
        return None
    lat1, lon1, lat2, lon2 = map(math.radians, (a.lat, a.lon, b.lat, b.lon))
    h = (
        math.sin((lat2 - lat1) / 2) ** 2
        + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    )
    return 2 * 6_371_000 * math.asin(math.sqrt(h))


class Facts(NamedTuple):
    """What place, category and time say about two reports (None: one of them doesn't say)."""

    same_block: bool | None
    same_area: bool | None
    same_road: bool | None
    same_building: bool | None
    same_category: bool | None
    same_department: bool | None
    metres: int | None
    hours_apart: float
    same_contact: bool
    placeless: bool  # neither of the two says where it is


def has_place(place: Place) -> bool:
    """Whether a report says where it is: a block, a road, an area or coordinates."""
    return bool(place.block or place.road or place.area or place.lat is not None)


def facts(new: Place, old: Place) -> Facts:
    """The facts of two reports, rounded as the evidence records them.

    Written out long-hand: the candidate index calls it for every ticket it scores.
    """
    a, b = new.block, old.block
    same_block = None if a is None or b is None else a == b
    a, b = new.area, old.area
    same_area = None if a is None or b is None else a == b
    a, b = new.road, old.road
    same_road = None if a is None or b is None else a == b
    a, b = new.building, old.building
    same_building = None if a is None or b is None else a == b
    a, b = new.category, old.category
    same_category = None if a is None or b is None else a == b
    a, b = new.department, old.department
    same_department = None if a is None or b is None else a == b
    distance = metres_between(new, old) if new.lat is not None and old.lat is not None else None
    gap = new.created_at - old.created_at
    return Facts(
        same_block,
        same_area,
        same_road,
        same_building,
        same_category,
        same_department,
        None if distance is None else round(distance),
        round(abs(gap.total_seconds()) / 3600, 1),
        new.contact_id is not None and new.contact_id == old.contact_id,
        not (has_place(new) or has_place(old)),
    )


def place_evidence(new: Place, old: Place) -> dict[str, Any]:
    """The evidence besides the text: which place parts match, category, distance, time."""
    return facts(new, old)._asdict()


def features(new: Report, old: Report) -> dict[str, Any]:
    """The evidence: text score, which place parts match, category, distance, time gap."""
    left, right = meaningful_words(new.match_text), meaningful_words(old.match_text)
    return {
        "text": round(words_score(left, right), 1),
        "text_whole": round(whole_words_score(left, right), 1),
        **place_evidence(new, old),
    }


def _facts_of(evidence: dict[str, Any]) -> Facts:
    values: dict[str, Any] = {name: evidence.get(name) for name in Facts._fields}
    return Facts(**values)


def place_score(known: Facts) -> float | None:
    """What place, category and time add to the text's share; None: different places."""
    if (
        known.same_block is False
        or known.same_area is False
        or (known.metres or 0) > 4 * NEAR_METRES
    ):
        return None
    score = 0.0
    if known.same_category:
        score += SAME_CATEGORY
    elif known.same_department:
        score += SAME_DEPARTMENT  # an open manhole and an overflow on one road: one job
    elif known.same_department is False:
        score += OTHER_DEPARTMENT
    score += SAME_BLOCK if known.same_block else 0
    if known.same_road:
        score += SAME_ROAD
    elif known.same_road is False:
        score += OTHER_ROAD
    score += SAME_BUILDING if known.same_building else 0
    score += NEAR if is_near(known) else 0
    return score - min(10.0, known.hours_apart / 24)  # a day apart costs one point


def is_near(known: Facts) -> bool:
    """Both sent coordinates, and they are close."""
    return known.metres is not None and known.metres <= NEAR_METRES


def shares_place(known: Facts) -> bool:
    """The same block, the same road or close coordinates."""
    return bool(known.same_block or known.same_road or is_near(known))


def finish(base: float | None, text: float, text_whole: float, known: Facts) -> float:
    """The combined score from :func:`place_score` and the two (rounded) text scores."""
    if base is None:
        return min(30.0, text * 0.3)  # different places: never the same problem
    score = base + TEXT_WEIGHT * text
    if not shares_place(known) and (
        not known.placeless  # one of them says where, and the other isn't there
        or text_whole < TEXT_ONLY_MINIMUM
        or known.hours_apart > PLACELESS_HOURS
    ):
        score = min(score, MIN_THRESHOLD - 1)
    return float(round(max(0.0, min(100.0, score)), 1))


def combined_score(evidence: dict[str, Any]) -> float:
    """One score (0–100) from the evidence; see the module docstring for the reasoning."""
    known = _facts_of(evidence)
    return finish(place_score(known), float(evidence["text"]), float(evidence["text_whole"]), known)
