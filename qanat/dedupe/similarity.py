"""How alike two complaints are: text similarity plus place, category and time.

Pure functions. The text score is rapidfuzz's ``token_set_ratio`` over the meaningful
words of the match forms (prefixes stripped, stop words gone): token-based, so Arabic
word order and extra words ("الله يعطيكم العافية") don't matter, and a short report
whose words all appear in a longer one scores high. Place, category and time then
decide, because the same problem told in Arabic and in English shares no words.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from rapidfuzz import fuzz

from qanat.normalize.text import match_form, match_tokens

#: Default score (0–100) from which a new ticket is linked to an open primary.
DEFAULT_THRESHOLD = 60.0
#: Without a shared place, text alone must be at least this close.
TEXT_ONLY_MINIMUM = 88.0
#: Reports further apart than this (metres) are about different places.
NEAR_METRES = 250.0


def text_score(a: str, b: str) -> float:
    """Similarity (0–100) of two match forms' meaningful words."""
    left, right = " ".join(match_tokens(a)), " ".join(match_tokens(b))
    if not left or not right:
        return 0.0
    return float(fuzz.token_set_ratio(left, right))


def whole_text_score(a: str, b: str) -> float:
    """Similarity of all the words (order-free): a short text inside a long one isn't enough."""
    left, right = " ".join(match_tokens(a)), " ".join(match_tokens(b))
    if not left or not right:
        return 0.0
    return float(fuzz.token_sort_ratio(left, right))


def pair_score(text_a: str, text_b: str) -> float:
    """Text similarity (0–100) of two raw texts: what ``qanat dedupe score`` prints."""
    return round(text_score(match_form(text_a), match_form(text_b)), 1)


@dataclass(frozen=True)
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


def metres_between(a: Report, b: Report) -> float | None:
    """Great-circle distance in metres, when both have coordinates."""
    if None in (a.lat, a.lon, b.lat, b.lon):
        return None
    lat1, lon1, lat2, lon2 = map(math.radians, (a.lat, a.lon, b.lat, b.lon))  # type: ignore[arg-type]
    h = (
        math.sin((lat2 - lat1) / 2) ** 2
        + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    )
    return 2 * 6_371_000 * math.asin(math.sqrt(h))


def _same(a: str | None, b: str | None) -> bool | None:
    return None if a is None or b is None else a == b


def features(new: Report, old: Report) -> dict[str, Any]:
    """The evidence: text score, which place parts match, category, distance, time gap."""
    distance = metres_between(new, old)
    return {
        "text": round(text_score(new.match_text, old.match_text), 1),
        "text_whole": round(whole_text_score(new.match_text, old.match_text), 1),
        "same_block": _same(new.block, old.block),
        "same_road": _same(new.road, old.road),
        "same_building": _same(new.building, old.building),
        "same_category": _same(new.category, old.category),
        "same_department": _same(new.department, old.department),
        "metres": None if distance is None else round(distance),
        "hours_apart": round(abs((new.created_at - old.created_at).total_seconds()) / 3600, 1),
        "same_contact": new.contact_id is not None and new.contact_id == old.contact_id,
    }


def combined_score(evidence: dict[str, Any]) -> float:
    """One score (0–100) from the evidence; see the module docstring for the reasoning."""
    text = float(evidence["text"])
    if evidence["same_block"] is False or (evidence["metres"] or 0) > 4 * NEAR_METRES:
        return min(30.0, text * 0.3)  # different places: never the same problem
    score = 0.55 * text
    if evidence["same_category"]:
        score += 25
    elif evidence.get("same_department"):
        score += 15  # an open manhole and an overflow on one road: one sewage job
    elif evidence.get("same_department") is False:
        score -= 15
    score += 15 if evidence["same_block"] else 0
    score += {True: 15, False: -20, None: 0}[evidence["same_road"]]
    score += 5 if evidence["same_building"] else 0
    near = evidence["metres"] is not None and evidence["metres"] <= NEAR_METRES
    score += 15 if near else 0
    score -= min(10.0, evidence["hours_apart"] / 24)  # a day apart costs one point
    shared_place = evidence["same_block"] or evidence["same_road"] or near
    if not shared_place and float(evidence["text_whole"]) < TEXT_ONLY_MINIMUM:
        score = min(score, DEFAULT_THRESHOLD - 1)
    return float(round(max(0.0, min(100.0, score)), 1))
