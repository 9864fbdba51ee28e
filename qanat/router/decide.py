"""The routing decision: pure, from a normalized message and the rules."""

from __future__ import annotations

from qanat.model import Normalized, RoutingDecision
from qanat.normalize.text import match_form
from qanat.router.rules import RoutingRules


def route(
    normalized: Normalized,
    *,
    rules: RoutingRules,
    category: str | None = None,
    given_department: str | None = None,
) -> RoutingDecision:
    """Pick the department whose keyword appears in the text; else the default (triage)."""
    codes = {d.code for d in rules.departments}
    if given_department:
        return RoutingDecision(
            department=given_department,
            category=category,
            reason=f"department given by the source: {given_department}",
            rules_version=rules.version,
            needs_triage=given_department not in codes,
        )
    words = set(normalized.match_text.split())
    for department in rules.departments:
        for keyword in department.keywords:
            form = match_form(keyword)
            if (form in words) or (" " in form and form in normalized.match_text):
                return RoutingDecision(
                    department=department.code,
                    category=category,
                    reason=f"keyword {keyword} → {department.name_en}",
                    rules_version=rules.version,
                )
    return RoutingDecision(
        department=rules.default_department,
        category=category,
        confidence=0.0,
        needs_triage=True,
        reason="no rule matched → default department, needs triage",
        rules_version=rules.version,
    )
