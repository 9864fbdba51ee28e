"""The rules file's ``dedupe:`` section: when a new report links to an open primary.

Parsed and checked with the rest of the rules file (:mod:`qanat.router.rules`, which
names the line of a problem); dedupe owns what the section means.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from qanat.dedupe.similarity import DEFAULT_THRESHOLD, DEFAULT_WINDOW, MIN_THRESHOLD


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class DedupeCategory(_Strict):
    """A category's own duplicate threshold and time window (unset: the defaults)."""

    category: str
    threshold: float | None = Field(default=None, ge=MIN_THRESHOLD, le=100)
    window_days: float | None = Field(default=None, gt=0, le=365)


class DedupeRules(_Strict):
    """When a new report links to an open primary: score threshold and time window.

    ``qanat dedupe calibrate`` recommends a threshold from labelled pairs. A threshold
    under 40 is refused: reports about different places score at most 30.
    """

    threshold: float = Field(default=DEFAULT_THRESHOLD, ge=MIN_THRESHOLD, le=100)
    window_days: float = Field(default=DEFAULT_WINDOW.days, gt=0, le=365)
    recurrence_days: float = Field(default=60, gt=0, le=3650)
    categories: list[DedupeCategory] = Field(default_factory=list)

    def _own(self, category: str | None) -> DedupeCategory | None:
        return next((c for c in self.categories if c.category == category), None)

    def threshold_for(self, category: str | None) -> float:
        """The score from which a report of ``category`` links to an open primary."""
        own = self._own(category)
        return own.threshold if own and own.threshold is not None else self.threshold

    def window_for(self, category: str | None) -> timedelta:
        """How far apart in time a report of ``category`` and its primary may be."""
        own = self._own(category)
        days = own.window_days if own and own.window_days is not None else self.window_days
        return timedelta(days=days)

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
