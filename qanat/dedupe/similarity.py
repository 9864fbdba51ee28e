"""How alike two complaints are: the evidence of a pair and its score (0–100).

Pure functions. First the place: two reports are at the same *spot* (coordinates
within the category's radius, or the same building on the same road), on the same
*street*, in the same *block*, somewhere *unknown* (neither says, or only one does),
or *elsewhere* (another block, area or road, coordinates far apart, or two house
numbers, unless the category covers an area). Then the problem: the same category,
the same department's work, another department's, or unknown. Then the words: three
similarities of the texts (:mod:`qanat.dedupe.text`), time apart, and whether the two
are in different languages.

A table of place × problem gives the score a line the text's similarity moves along;
a body that trains its own pair model on its labelled pairs (``qanat dedupe train``,
:mod:`qanat.dedupe.pair_model`) scores by the model's probability in percent instead.
When neither report says where (text alone), the score follows the texts' similarity:
few labelled pairs say nothing of where, too few to learn from. Three gates are rules,
not weights: reports elsewhere score at most 30;
another department's work, thanks set beside a problem, and text alone that is too short
or too far apart in time, at most 39 — suggested at most.

A wrong link is the most harmful thing qanat can do — a citizen's problem silently
rides on someone else's ticket — so a score between the suggestion threshold and the
link threshold is only *suggested* to staff (:mod:`qanat.dedupe.service`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, fields
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any, NamedTuple

from rapidfuzz import fuzz

from qanat.dedupe.pair_model import TEXTS, PairModel, inputs
from qanat.dedupe.text import languages_differ, meaningful_words, text_similarity
from qanat.model import Location, Normalized, RoutingDecision

#: Default score (0–100) from which a new ticket is linked to an open primary.
DEFAULT_THRESHOLD = 55.0
#: Default score from which a possible duplicate is suggested to staff, not linked.
DEFAULT_SUGGEST = 40.0
#: The lowest threshold a rules file may set: below it, other places would link.
MIN_THRESHOLD = 40.0
#: Default days apart within which two reports can be about one problem. Short: most
#: repeated reports come within hours, and a report days later at the same spot is as
#: often a new occurrence (a city's own labels say so); a rules file gives lasting
#: problems (a derelict house, a dark street) their own longer window.
DEFAULT_WINDOW = timedelta(days=2)
#: Reports of which neither says where must be this close in time to link.
PLACELESS_WINDOW = timedelta(days=3)
PLACELESS_HOURS = PLACELESS_WINDOW.total_seconds() / 3600
#: Default radius (metres) of "the same spot": a pothole, a fallen pole, a house. Two
#: reports further apart than twice a category's radius are about different places.
DEFAULT_RADIUS = 50.0
#: From this radius on a category is about an area (a water cut, a smell): two house
#: numbers on one street no longer make two problems.
AREA_RADIUS = 200.0
#: Without a place, text alone links from this similarity on (nearly the same words)…
TEXT_ONLY_SIMILARITY = 0.85
#: …and only texts of the same category or of at least this
#: many meaningful words: "lights out" from two citizens of whom the router placed
#: neither may be two complaints.
TEXT_ONLY_WORDS = 3
#: The highest score of reports elsewhere, and of what can only be suggested (another
#: department's work, text alone too short or too far apart in time): such scores are
#: squeezed under these, keeping their order, so a pair file still ranks them.
ELSEWHERE_CAP, SUGGESTED_CAP = 30.0, MIN_THRESHOLD - 1


class Where(StrEnum):
    """How the places of two reports compare, from the closest."""

    spot = "spot"
    street = "street"
    block = "block"
    unknown = "unknown"
    elsewhere = "elsewhere"


class Work(StrEnum):
    """How the problems of two reports compare."""

    same = "same"  # the same category
    kin = "kin"  # the same department's work, another category
    unknown = "unknown"  # one of them has no category
    other = "other"  # another department's work


def text_score(a: str, b: str) -> float:
    """Similarity (0–100, one decimal) of two match forms' texts."""
    return round(100 * text_similarity(a, b), 1)


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
    #: What the citizen is asking for (:class:`qanat.model.Kind`'s value), when known.
    kind: str | None = None

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
        kind=normalized.kind.value,
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
    thanks_and_problem: bool  # one thanks staff, the other reports a problem or asks


#: A compliment — thanks for work done — is never the same report as a complaint or a
#: request about that work, however alike their words ("thanks for fixing the pothole
#: on road 2404" / "a big pothole on road 2404").
THANKS = "compliment"


def has_place(place: Place) -> bool:
    """Whether a report says where it is: a block, a road, an area or coordinates."""
    return bool(place.block or place.road or place.area or place.lat is not None)


def _same(a: str | None, b: str | None) -> bool | None:
    return None if a is None or b is None else a == b


def facts(new: Place, old: Place) -> Facts:
    """The facts of two reports, rounded as the evidence records them."""
    distance = metres_between(new, old) if new.lat is not None and old.lat is not None else None
    gap = new.created_at - old.created_at
    return Facts(
        _same(new.block, old.block),
        _same(new.area, old.area),
        _same(new.road, old.road),
        _same(new.building, old.building),
        _same(new.category, old.category),
        _same(new.department, old.department),
        None if distance is None else round(distance),
        round(abs(gap.total_seconds()) / 3600, 1),
        new.contact_id is not None and new.contact_id == old.contact_id,
        not (has_place(new) or has_place(old)),
        _thanks_and_problem(new.kind, old.kind),
    )


def _thanks_and_problem(a: str | None, b: str | None) -> bool:
    return a is not None and b is not None and (a == THANKS) != (b == THANKS)


def where(known: Facts, radius: float = DEFAULT_RADIUS) -> Where:
    """How the two places compare (see the module docstring); ``radius`` is the
    category's "same spot" in metres."""
    if known.same_block is False or known.same_area is False:
        return Where.elsewhere
    # Two house numbers: two houses, however close, unless the problem covers an area.
    if known.same_building is False and radius < AREA_RADIUS:
        return Where.elsewhere
    if known.metres is not None:
        if known.metres <= radius:
            return Where.spot
        # A little further: the same block only when the block or road says so too.
        if known.metres <= 2 * radius and (known.same_block or known.same_road):
            return Where.block
        return Where.elsewhere
    if known.same_road is False:
        return Where.elsewhere
    if known.same_road and known.same_building:
        return Where.spot
    if known.same_road:
        return Where.street
    if known.same_block:
        return Where.block
    return Where.unknown


def work(known: Facts) -> Work:
    """How the two problems compare."""
    if known.same_category:
        return Work.same
    if known.same_department:
        return Work.kin
    if known.same_department is False:
        return Work.other
    return Work.unknown


def place_evidence(new: Place, old: Place, radius: float = DEFAULT_RADIUS) -> dict[str, Any]:
    """The evidence besides the text: which place parts match, category, distance, time,
    and what they mean (``where``, ``work``)."""
    known = facts(new, old)
    return {**known._asdict(), "where": where(known, radius).value, "work": work(known).value}


def features(new: Report, old: Report, radius: float = DEFAULT_RADIUS) -> dict[str, Any]:
    """The evidence: text similarity (0–100), the place facts and what they mean."""
    return {
        **text_evidence(new.match_text, old.match_text),
        "two_languages": languages_differ(new.match_text, old.match_text),
        "radius_m": radius,
        **place_evidence(new, old, radius),
    }


def text_evidence(
    a: str,
    b: str,
    *,
    left: str | None = None,
    right: str | None = None,
    ratios: bool = True,
) -> dict[str, Any]:
    """What the words of two match forms say: three similarities (0–100) and the fewer
    meaningful words of the two (``left`` / ``right``: their meaningful words, when
    already known; ``ratios=False`` leaves out the two rapidfuzz ratios, which only a
    trained pair model reads)."""
    left = meaningful_words(a) if left is None else left
    right = meaningful_words(b) if right is None else right
    told = bool(left and right)
    found = {
        "text": round(100 * text_similarity(a, b, left=left, right=right), 1),
        "words": min(len(left.split()), len(right.split())),
    }
    if ratios:
        found["text_set"] = round(fuzz.token_set_ratio(left, right), 1) if told else 0.0
        found["text_sort"] = round(fuzz.token_sort_ratio(left, right), 1) if told else 0.0
    return found


def gate(evidence: Mapping[str, Any]) -> float:
    """The highest score the rules allow a pair, whatever the model says (100: none)."""
    return cap_of(
        Where(evidence["where"]),
        Work(evidence["work"]),
        thanks_and_problem=bool(evidence.get("thanks_and_problem")),
        placeless=bool(evidence.get("placeless")),
        hours_apart=float(evidence.get("hours_apart") or 0.0),
        words=int(evidence.get("words") or 0),
    )


def cap_of(
    place: Where,
    problem: Work,
    *,
    thanks_and_problem: bool,
    placeless: bool,
    hours_apart: float,
    words: int,
) -> float:
    """:func:`gate` from the values it reads (the candidate index calls it per ticket)."""
    if place is Where.elsewhere:
        return ELSEWHERE_CAP
    if problem is Work.other or thanks_and_problem:
        return SUGGESTED_CAP
    if place is Where.unknown:
        alone = placeless and hours_apart <= PLACELESS_HOURS
        told = problem is Work.same or words >= TEXT_ONLY_WORDS
        return 100.0 if alone and told else SUGGESTED_CAP
    return 100.0


#: (score at similarity 0, what similarity 1 adds) per place and problem, until a body
#: trains its own pair model: at the same spot the same category links whatever the
#: words; in the same block the words must agree. Measured in ``bench/matching.py``.
_LINES: dict[tuple[Where, Work], tuple[float, float]] = {
    (Where.spot, Work.same): (60.0, 40.0),
    (Where.spot, Work.kin): (35.0, 50.0),
    (Where.spot, Work.unknown): (30.0, 60.0),
    (Where.street, Work.same): (50.0, 45.0),
    (Where.street, Work.kin): (15.0, 55.0),
    (Where.street, Work.unknown): (15.0, 55.0),
    (Where.block, Work.same): (25.0, 60.0),
    (Where.block, Work.kin): (10.0, 55.0),
    (Where.block, Work.unknown): (10.0, 60.0),
}
#: Two texts in two languages share few letters whatever they say: the similarity the
#: table takes for them when theirs is lower (place and problem decide).
ACROSS_LANGUAGES = 0.4


def text_alone(similarity: float) -> float:
    """The score of text alone: the similarity in percent, bent so that
    :data:`TEXT_ONLY_SIMILARITY` scores :data:`DEFAULT_THRESHOLD` (nearly the same words)."""
    bend = TEXT_ONLY_SIMILARITY
    if similarity < bend:
        return DEFAULT_THRESHOLD * similarity / bend
    return DEFAULT_THRESHOLD + (100 - DEFAULT_THRESHOLD) * (similarity - bend) / (1 - bend)


def _under(cap: float, score: float) -> float:
    """``score`` kept under ``cap`` in order: scores within a point of the cap and above
    it share that last point (0–100 scores are printed to one decimal)."""
    if cap >= 100.0 or score <= cap - 1:
        return score
    return cap - 1 + (score - cap + 1) / (101 - cap) * 0.9


def score_of(
    evidence: Mapping[str, Any],
    model: PairModel | None = None,
    *,
    texts: Mapping[str, float] | None = None,
) -> float:
    """The pair's score (0–100, one decimal). ``model`` is a body's trained pair model;
    None scores by the table above. ``texts`` overrides the text similarities (0–1), as
    :func:`best_possible` does. A gated pair's score is its similarity times its gate
    (text alone: its own score, up to the gate), so gated scores keep their order."""
    cap = gate(evidence)
    similar = {name: float(evidence.get(name) or 0.0) / 100 for name in TEXTS}
    similar |= dict(texts or {})
    place, problem = Where(evidence["where"]), Work(evidence["work"])
    if model is not None and cap >= 100.0 and place is not Where.unknown:
        score = 100 * model.probability(inputs(evidence, texts=similar))
        return float(round(max(0.0, min(cap, score)), 1))
    return table_score(
        place,
        problem,
        cap,
        similar["text"],
        hours_apart=float(evidence.get("hours_apart") or 0.0),
        two_languages=bool(evidence.get("two_languages")),
    )


def table_score(
    place: Where,
    problem: Work,
    cap: float,
    similarity: float,
    *,
    hours_apart: float,
    two_languages: bool,
) -> float:
    """The score by the place × problem table, of a pair gated at ``cap``
    (:func:`cap_of`) whose texts are ``similarity`` (0–1) alike."""
    if place is Where.unknown and problem is not Work.other:
        # Text alone: a gated pair keeps its own score up to a point under the gate and
        # is squeezed into that last point above it, so pairs ranked by their texts stay
        # in the texts' order.
        score = _under(cap, text_alone(similarity))
    elif cap < 100.0:
        score = cap * similarity
    else:
        if two_languages:
            similarity = max(similarity, ACROSS_LANGUAGES)
        low, gain = _LINES[place, problem]
        late = min(10.0, hours_apart / 24)  # a day: a point
        score = low - late + gain * similarity
    return float(round(max(0.0, min(cap, score)), 1))


_PERFECT = dict.fromkeys(TEXTS, 1.0)


def best_possible(evidence: Mapping[str, Any], model: PairModel | None = None) -> float:
    """What the pair could score with the most similar texts (no text weight is
    negative, so no text scores more): the candidate index skips tickets under it."""
    return score_of(evidence, model, texts=_PERFECT)


def combined_score(evidence: Mapping[str, Any], model: PairModel | None = None) -> float:
    """One score (0–100) from the evidence; see the module docstring for the reasoning."""
    return score_of(evidence, model)
