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
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

from rapidfuzz import fuzz

from qanat.model import Location, Normalized, RoutingDecision
from qanat.normalize.text import match_tokens

#: Default score (0–100) from which a new ticket is linked to an open primary.
DEFAULT_THRESHOLD = 60.0
#: The lowest threshold a rules file may set: below it, other places would link.
MIN_THRESHOLD = 40.0
#: Default days apart within which two reports can be about one problem.
DEFAULT_WINDOW = timedelta(days=14)
#: Without a shared place, text alone must be at least this close…
TEXT_ONLY_MINIMUM = 88.0
#: …and the reports this close in time; otherwise the score stays under any threshold.
PLACELESS_WINDOW = timedelta(days=3)
#: Reports further apart than this (metres) are about different places.
NEAR_METRES = 250.0
#: The weight of the text score (0–100) in the combined score.
TEXT_WEIGHT = 0.55


def meaningful_words(match_text: str) -> str:
    """The words text similarity compares, in one string (what the index keeps)."""
    return " ".join(match_tokens(match_text))


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


class Place(Protocol):
    """What dedupe compares of a ticket besides its words (a report or an index entry)."""

    @property
    def created_at(self) -> datetime: ...
    @property
    def block(self) -> str | None: ...
    @property
    def road(self) -> str | None: ...
    @property
    def building(self) -> str | None: ...
    @property
    def category(self) -> str | None: ...
    @property
    def department(self) -> str | None: ...
    @property
    def lat(self) -> float | None: ...
    @property
    def lon(self) -> float | None: ...
    @property
    def contact_id(self) -> int | None: ...


@dataclass(frozen=True, slots=True)
class Report:
    """What dedupe compares of a ticket (new or open)."""

    match_text: str
    created_at: datetime
    block: str | None = None
    road: str | None = None
    building: str | None = None
    category: str | None = None
    department: str | None = None
    lat: float | None = None
    lon: float | None = None
    contact_id: int | None = None


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


def _same(a: str | None, b: str | None) -> bool | None:
    return None if a is None or b is None else a == b


def place_evidence(new: Place, old: Place) -> dict[str, Any]:
    """The evidence besides the text: which place parts match, category, distance, time."""
    distance = metres_between(new, old)
    return {
        "same_block": _same(new.block, old.block),
        "same_road": _same(new.road, old.road),
        "same_building": _same(new.building, old.building),
        "same_category": _same(new.category, old.category),
        "same_department": _same(new.department, old.department),
        "metres": None if distance is None else round(distance),
        "hours_apart": round(abs((new.created_at - old.created_at).total_seconds()) / 3600, 1),
        "same_contact": new.contact_id is not None and new.contact_id == old.contact_id,
    }


def features(new: Report, old: Report) -> dict[str, Any]:
    """The evidence: text score, which place parts match, category, distance, time gap."""
    left, right = meaningful_words(new.match_text), meaningful_words(old.match_text)
    return {
        "text": round(words_score(left, right), 1),
        "text_whole": round(whole_words_score(left, right), 1),
        **place_evidence(new, old),
    }


def place_score(evidence: dict[str, Any]) -> float | None:
    """What place, category and time add to the text's share; None: different places."""
    if evidence["same_block"] is False or (evidence["metres"] or 0) > 4 * NEAR_METRES:
        return None
    score = 0.0
    if evidence["same_category"]:
        score += 25
    elif evidence.get("same_department"):
        score += 15  # an open manhole and an overflow on one road: one sewage job
    elif evidence.get("same_department") is False:
        score -= 15
    score += 15 if evidence["same_block"] else 0
    score += {True: 15, False: -20, None: 0}[evidence["same_road"]]
    score += 5 if evidence["same_building"] else 0
    score += 15 if is_near(evidence) else 0
    return score - min(10.0, float(evidence["hours_apart"]) / 24)  # a day apart costs one point


def is_near(evidence: dict[str, Any]) -> bool:
    """Both sent coordinates, and they are close."""
    return evidence["metres"] is not None and evidence["metres"] <= NEAR_METRES


def shares_place(evidence: dict[str, Any]) -> bool:
    """The same block, the same road or close coordinates."""
    return bool(evidence["same_block"] or evidence["same_road"] or is_near(evidence))


def finish(base: float | None, text: float, text_whole: float, evidence: dict[str, Any]) -> float:
    """The combined score from :func:`place_score` and the two (rounded) text scores."""
    if base is None:
        return min(30.0, text * 0.3)  # different places: never the same problem
    score = base + TEXT_WEIGHT * text
    if not shares_place(evidence) and (
        text_whole < TEXT_ONLY_MINIMUM
        or evidence["hours_apart"] > PLACELESS_WINDOW.total_seconds() / 3600
    ):
        score = min(score, MIN_THRESHOLD - 1)
    return float(round(max(0.0, min(100.0, score)), 1))


def combined_score(evidence: dict[str, Any]) -> float:
    """One score (0–100) from the evidence; see the module docstring for the reasoning."""
    base = place_score(evidence)
    return finish(base, float(evidence["text"]), float(evidence["text_whole"]), evidence)
