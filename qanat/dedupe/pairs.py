"""Labelled pairs: read from JSON Lines and scored as the pipeline would score them.

A pair is two texts (``text_a``, ``text_b``) and, to calibrate, a ``label`` (1: the
same problem, 0: not). Each text is read as a new message is — normalized (match form,
the place named in it) and routed (its category) — so a pair's score is the score the
pipeline would link on, and ``qanat dedupe calibrate`` recommends a threshold for the
rules file. Optional keys make a pair as precise as a stored one: ``location_a`` /
``location_b`` (as ``qanat import`` takes them), ``category_a`` / ``category_b``, and
``hours_apart`` (default 0). Pure: the routing (rules and learned model) is handed in as
a function, so dedupe does not depend on the router.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from qanat.dedupe.rules import DedupeRules
from qanat.dedupe.similarity import Report, combined_score, features, report_of_message
from qanat.model import Inbound, Location, Normalized, RoutingDecision, Sender
from qanat.normalize import normalize

#: How a text is routed as the pipeline would: (normalized text, the sender's category).
Route = Callable[[Normalized, str | None], RoutingDecision]

#: When pair A was sent (any fixed time: only the gap to B counts).
_SENT = datetime(2026, 1, 4, 8, 0, tzinfo=UTC)


class Pair(BaseModel):
    """One line of a pairs file."""

    model_config = ConfigDict(extra="allow")

    text_a: str
    text_b: str
    label: int | None = Field(default=None, ge=0, le=1)
    location_a: Location | None = None
    location_b: Location | None = None
    category_a: str | None = None
    category_b: str | None = None
    hours_apart: float = Field(default=0.0, ge=0)


def read_pairs(file: Path) -> Iterator[tuple[int, Pair | str]]:
    """Each non-blank line's number and its pair, or what is wrong with it."""
    with file.open(encoding="utf-8", errors="replace") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
                if not isinstance(record, dict):
                    raise ValueError("a line must hold one JSON object")
                yield number, Pair.model_validate(record)
            except ValidationError as exc:
                problem = exc.errors()[0]
                where = ".".join(str(part) for part in problem["loc"])
                yield number, f"{where}: {problem['msg']}"
            except ValueError as exc:
                yield number, f"{type(exc).__name__}: {exc}"


def report_of_text(
    text: str,
    *,
    at: datetime,
    route: Route,
    location: Location | None = None,
    category: str | None = None,
) -> Report:
    """A text as the pipeline would compare it, had it arrived at ``at``."""
    inbound = Inbound(
        channel="pairs",
        external_id="-",
        received_at=at,
        sender=Sender(handle="-"),
        text=text,
        location=location,
        category=category,
    )
    normalized = normalize(inbound)
    decision = route(normalized, category)
    return report_of_message(normalized, decision, received_at=at)


def pair_evidence(pair: Pair, *, route: Route, rules: DedupeRules | None = None) -> dict[str, Any]:
    """The evidence the pipeline would record between the pair's two texts (with the
    radius the rules give the second text's category)."""
    first = report_of_text(
        pair.text_a, at=_SENT, route=route,
        location=pair.location_a, category=pair.category_a,
    )  # fmt: skip
    second = report_of_text(
        pair.text_b, at=_SENT + timedelta(hours=pair.hours_apart), route=route,
        location=pair.location_b, category=pair.category_b,
    )  # fmt: skip
    radius = (rules or DedupeRules()).radius_for(second.category)
    # The second text's category, as the new ticket's: what its thresholds are read by.
    return {**features(second, first, radius), "category": second.category}


def pair_score(pair: Pair, *, route: Route, rules: DedupeRules | None = None) -> float:
    """The pair's score (0–100): what ``qanat dedupe score`` prints."""
    return combined_score(pair_evidence(pair, route=route, rules=rules))
