"""The rules file's ``dedupe:`` section: when a new report links to an open primary.

Parsed and checked with the rest of the rules file (:mod:`qanat.router.rules`, which
names the line of a problem); dedupe owns what the section means.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import timedelta
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr

from qanat.dedupe.pair_model import PairModel
from qanat.dedupe.similarity import (
    DEFAULT_RADIUS,
    DEFAULT_SUGGEST,
    DEFAULT_THRESHOLD,
    DEFAULT_WINDOW,
    MIN_THRESHOLD,
)

#: The lowest suggestion threshold: under it, reports elsewhere would be suggested.
MIN_SUGGEST = 31.0


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class DedupeCategory(_Strict):
    """A category's own duplicate thresholds (link, suggest), time window and "same spot"
    radius in metres (unset: the defaults; ``qanat dedupe calibrate`` recommends the
    thresholds of categories with enough labelled pairs). A radius of 200 m or more makes
    the category an area problem (a water cut, a smell): two house numbers on one street
    are then one problem."""

    category: str
    threshold: float | None = Field(default=None, ge=MIN_THRESHOLD, le=100)
    suggest_threshold: float | None = Field(default=None, ge=MIN_SUGGEST, le=100)
    window_days: float | None = Field(default=None, gt=0, le=365)
    radius_m: float | None = Field(default=None, gt=0, le=20_000)


class DedupeRules(_Strict):
    """When a new report links to an open primary: score threshold, time window, radius.

    ``window_days`` and ``radius_m`` are the body's for its own categories (and reports
    with none); a category its rules file does not list gets at most qanat's defaults
    (:meth:`know_categories`).

    From ``threshold`` on a new report is linked; from ``suggest_threshold`` (under the
    link threshold) the possible duplicate is only suggested to staff. Unset, both are
    a trained pair model's own, chosen when it was trained, else 55 and 40 (``qanat
    dedupe calibrate`` shows what a threshold does on labelled pairs). A threshold under
    40 is refused: reports about different places score at most 30.
    """

    threshold: float | None = Field(default=None, ge=MIN_THRESHOLD, le=100)
    suggest_threshold: float | None = Field(default=None, ge=MIN_SUGGEST, le=100)
    window_days: float = Field(default=DEFAULT_WINDOW.days, gt=0, le=365)
    radius_m: float = Field(default=DEFAULT_RADIUS, gt=0, le=20_000)
    recurrence_days: float = Field(default=60, gt=0, le=3650)
    categories: list[DedupeCategory] = Field(default_factory=list)
    #: The categories the body's rules file lists (None: any category is the body's own).
    _known: frozenset[str] | None = PrivateAttr(default=None)

    def know_categories(self, codes: Iterable[str]) -> None:
        """Say which categories the body's rules file lists: a report of another category
        (kept as given and sent to triage) is compared within qanat's defaults — at most
        2 days apart and 50 m for "the same spot" — rather than within the body's
        ``window_days`` and ``radius_m``, chosen for work it knows (a 14-day window for
        roads that wait for a crew links a city's unrelated reports of another kind)."""
        self._known = frozenset(codes)

    def _unknown(self, category: str | None) -> bool:
        return category is not None and self._known is not None and category not in self._known

    def _own(self, category: str | None) -> DedupeCategory | None:
        return next((c for c in self.categories if c.category == category), None)

    def threshold_for(self, category: str | None, model: PairModel | None = None) -> float:
        """The score from which a report of ``category`` links to an open primary."""
        own = self._own(category)
        if own and own.threshold is not None:
            return own.threshold
        if self.threshold is not None:
            return self.threshold
        return model.link_threshold if model is not None else DEFAULT_THRESHOLD

    def window_for(self, category: str | None) -> timedelta:
        """How far apart in time a report of ``category`` and its primary may be."""
        own = self._own(category)
        if own and own.window_days is not None:
            return timedelta(days=own.window_days)
        if self._unknown(category):
            return min(timedelta(days=self.window_days), DEFAULT_WINDOW)
        return timedelta(days=self.window_days)

    def radius_for(self, category: str | None) -> float:
        """The radius (metres) within which two reports of ``category`` are at one spot."""
        own = self._own(category)
        if own and own.radius_m is not None:
            return own.radius_m
        return min(self.radius_m, DEFAULT_RADIUS) if self._unknown(category) else self.radius_m

    def suggest_for(self, category: str | None, model: PairModel | None = None) -> float:
        """The score from which a possible duplicate of ``category`` is suggested."""
        category_own = self._own(category)
        own = self.suggest_threshold
        if category_own and category_own.suggest_threshold is not None:
            suggest = category_own.suggest_threshold
        elif own is not None:
            suggest = own
        else:
            suggest = model.suggest_threshold if model is not None else DEFAULT_SUGGEST
        return min(suggest, self.threshold_for(category, model))

    def band(self, score: float, category: str | None, model: PairModel | None = None) -> str:
        """What a score does for a report of ``category``: ``link``, ``suggest`` (to staff)
        or ``none``."""
        if score >= self.threshold_for(category, model):
            return "link"
        return "suggest" if score >= self.suggest_for(category, model) else "none"

    @property
    def recurrence_window(self) -> timedelta:
        """How recently a resolved ticket makes the same problem at the same place recur."""
        return timedelta(days=self.recurrence_days)

    def problems(self, categories: set[str]) -> list[tuple[tuple[Any, ...], str]]:
        """What is wrong with this section against the file's ``categories``: (where in the
        file, what), for the rules file's line-numbered errors."""
        found: list[tuple[tuple[Any, ...], str]] = []
        seen: set[str] = set()
        for index, own in enumerate(self.categories):
            where = ("dedupe", "categories", index)
            if own.category not in categories:
                found.append((where, f"unknown category {own.category!r}"))
            elif own.category in seen:
                found.append((where, f"category {own.category!r} is listed twice"))
            seen.add(own.category)
        return found
