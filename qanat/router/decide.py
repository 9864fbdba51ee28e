"""The routing decision: pure, from a normalized message, the rules and the learned model.

Order: a department given by the source (archives) → the sender's category → kind and
keyword rules → place rules → the learned model (above its threshold) → rules for
departments the model was never trained on → the default department, flagged for triage
with the model's guess as a suggestion.

A rule is *in scope* when the learned model knows its department (or when there is no
model): a body's explicit rule then wins. A rule for a department the model has no
examples of yields to a confident model and applies when the model is unsure — so a
model trained on a body's own history is not overridden by another body's keywords; when
most of the model's departments are missing from the rules file, the two are different
bodies' (a body's model beside the shipped sample rules): no keyword, kind or place rule
applies, and what the model is unsure of goes to triage. With
``learned_before_places`` the learned model comes before in-scope place rules too; a tie
between two departments' keywords goes to the one the learned model favours. Priority and
SLA come after, from their own rules. Every decision carries a reason staff can read.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

from qanat.model import Kind, Location, Normalized, Priority, RoutingDecision
from qanat.normalize.text import match_form, strip_prefix
from qanat.router.learned import LearnedRouter
from qanat.router.rules import RoutingRules
from qanat.router.sla import sla_of


@dataclass(frozen=True)
class _Keyword:
    department: str
    category: str | None
    word: str


@dataclass(frozen=True)
class _Compiled:
    single: dict[str, list[_Keyword]]
    phrases: list[tuple[str, _Keyword]]
    priority_words: list[tuple[set[str], list[str], Priority]]


_COMPILED: dict[str, _Compiled] = {}


def _forms(word: str) -> str:
    return " ".join(strip_prefix(t) for t in match_form(word).split())


def _compile(rules: RoutingRules) -> _Compiled:
    cached = _COMPILED.get(rules.version)
    if cached is not None and rules.version:
        return cached
    single: dict[str, list[_Keyword]] = {}
    phrases: list[tuple[str, _Keyword]] = []
    seen: set[tuple[str, str]] = set()
    for department in rules.departments:
        for rule in department.keywords:
            for word in rule.words:
                form = _forms(word)
                if (department.code, form) in seen:
                    continue  # "رصيف" and "الرصيف" are one form: one vote
                seen.add((department.code, form))
                keyword = _Keyword(department.code, rule.category, word)
                if " " in form:
                    phrases.append((form, keyword))
                else:
                    single.setdefault(form, []).append(keyword)
    priority_words = []
    for priority_rule in rules.priorities:
        forms = [_forms(w) for w in priority_rule.words]
        priority_words.append(
            (
                {f for f in forms if " " not in f},
                [f for f in forms if " " in f],
                priority_rule.priority,
            )
        )
    compiled = _Compiled(single, phrases, priority_words)
    if rules.version:
        _COMPILED[rules.version] = compiled
    return compiled


def _text_forms(match_text: str) -> tuple[set[str], str]:
    tokens = [strip_prefix(t) for t in match_text.split()]
    return set(tokens) | set(match_text.split()), f" {' '.join(tokens)} "


def keyword_hits(normalized: Normalized, rules: RoutingRules) -> list[_Keyword]:
    """Every keyword rule the text matches (whole words and phrases, in match form)."""
    compiled = _compile(rules)
    words, joined = _text_forms(normalized.match_text)
    hits = [k for word in words for k in compiled.single.get(word, [])]
    hits += [k for phrase, k in compiled.phrases if f" {phrase} " in joined]
    return hits


def _by_keywords(
    normalized: Normalized,
    rules: RoutingRules,
    learned: dict[str, float],
    allowed: Callable[[str], bool],
) -> tuple[str, str | None, str] | None:
    hits = [h for h in keyword_hits(normalized, rules) if allowed(h.department)]
    if not hits:
        return None
    order = {d.code: i for i, d in enumerate(rules.departments)}
    votes: Counter[str] = Counter()
    for hit in hits:  # a phrase says more than a single word
        votes[hit.department] += 2 if " " in _forms(hit.word) else 1
    best = max(votes.values())
    tied = [d for d in votes if votes[d] == best]
    # A tie ("rubbish on the pavement") goes to the department past tickets favour,
    # else to the one listed first in the file.
    department = min(tied, key=lambda d: (-learned.get(d, 0.0), order[d]))
    chosen = [h for h in hits if h.department == department]
    owner = rules.department(department) or rules.departments[0]
    rank = {c.code: i for i, c in enumerate(owner.categories)}
    categories: Counter[str] = Counter()
    for hit in chosen:
        if hit.category:
            categories[hit.category] += 2 if " " in _forms(hit.word) else 1
    # The best-supported category; a tie goes to the one listed first in the file.
    category = (
        min(categories, key=lambda c: (-categories[c], rank.get(c, 99))) if categories else None
    )
    words = ", ".join(sorted({h.word for h in chosen}))
    return department, category, f"keyword {words} → {owner.name_en}"


def _by_place(location: Location | None, rules: RoutingRules) -> tuple[str, str] | None:
    if location is None:
        return None
    for rule in rules.places:
        for part in ("block", "area", "governorate"):
            wanted = getattr(rule, part)
            if wanted and getattr(location, part) == wanted:
                name = (rules.department(rule.department) or rules.departments[0]).name_en
                return rule.department, f"{part} {wanted} → {name}"
    return None


def priority_of(
    normalized: Normalized, category: str | None, kind: Kind, rules: RoutingRules
) -> tuple[Priority, str | None]:
    """The first priority rule that applies (by category, kind or words), else normal."""
    words, joined = _text_forms(normalized.match_text)
    compiled = _compile(rules)
    for rule, (singles, phrases, _p) in zip(rules.priorities, compiled.priority_words, strict=True):
        if category and category in rule.categories:
            return rule.priority, f"category {category} → {rule.priority.value}"
        if kind in rule.kinds:
            return rule.priority, f"{kind.value} → {rule.priority.value}"
        found = (singles & words) or {p for p in phrases if f" {p} " in joined}
        if found:
            return rule.priority, f"words {', '.join(sorted(found))} → {rule.priority.value}"
    return Priority.normal, None


@dataclass(frozen=True)
class _Choice:
    department: str
    category: str | None
    confidence: float
    basis: str
    reason: str
    needs_triage: bool = False


def _by_rule(
    normalized: Normalized,
    rules: RoutingRules,
    learned: dict[str, float],
    allowed: Callable[[str], bool],
) -> _Choice | None:
    """The kind or keyword rule that decides, among rules whose department is ``allowed``."""
    keyword = _by_keywords(normalized, rules, learned, allowed)
    for rule in rules.kinds:
        if rule.kind != normalized.kind or not allowed(rule.department):
            continue
        if rule.before_keywords or keyword is None:
            why = f"{rule.kind.value} → {rule.department}"
            return _Choice(rule.department, rule.category, 1.0, "kind", why)
    if keyword:
        return _Choice(keyword[0], keyword[1], 1.0, "keyword", keyword[2])
    return None


def _department(
    normalized: Normalized,
    rules: RoutingRules,
    category: str | None,
    model: LearnedRouter | None,
    learned: dict[str, float],
) -> _Choice:
    owner = rules.category_owner(category) if category else None
    if owner:
        return _Choice(owner, category, 1.0, "category", f"category {category} → {owner}")
    guess = max(learned, key=lambda d: learned[d]) if learned else None
    sure = guess is not None and model is not None and learned[guess] >= model.threshold

    foreign = model is not None and rules_are_foreign(rules, model)

    def in_scope(code: str) -> bool:
        return model is None or (model.knows(code) and not foreign)

    place = _by_place(normalized.location, rules)
    place_first = place is not None and in_scope(place[0]) and not rules.learned_before_places
    rule = _by_rule(normalized, rules, learned, in_scope)
    if rule is None and place_first and place:
        rule = _Choice(place[0], None, 0.9, "place", place[1])
    if rule is None and sure and guess:
        rule = _Choice(guess, None, learned[guess], "learned", _learned(learned[guess]))
    if rule is None and not foreign:  # unsure: rules for departments the model does not know
        rule = _by_rule(normalized, rules, learned, lambda code: not in_scope(code))
    if rule is None and place and not foreign:
        rule = _Choice(place[0], None, 0.9, "place", place[1])
    if rule is not None:
        return rule
    reason = "no rule matched" if not guess else f"learned guess {guess} only {learned[guess]:.0%}"
    return _Choice(
        rules.default_department,
        None,
        learned[guess] if guess else 0.0,
        "default",
        f"{reason} → {rules.default_department}, needs triage",
        needs_triage=True,
    )


def rules_are_foreign(rules: RoutingRules, model: LearnedRouter) -> bool:
    """Whether the rules file is another body's than the model: most of the departments
    the model was trained on are missing from it (a body early on, whose model knows a
    few of its own departments, keeps its rules for the rest)."""
    in_rules = {department.code for department in rules.departments}
    missing = sum(1 for code in model.departments if code not in in_rules)
    return missing * 2 > len(model.departments)


def _learned(probability: float) -> str:
    return f"learned from past tickets ({probability:.0%})"


def route(
    normalized: Normalized,
    *,
    rules: RoutingRules,
    category: str | None = None,
    given_department: str | None = None,
    model: LearnedRouter | None = None,
) -> RoutingDecision:
    """Decide department, category, priority and SLA for a new ticket, with the reason.

    A category that is another system's service code (the rules' ``service_codes``, for
    an upstream Open311 system) is read as the qanat category it maps to.
    """
    learned = model.scores(normalized.match_text) if model else {}
    translated = rules.service_codes.get(category) if category else None
    if translated:
        category, code = translated, category
    if given_department:
        known = rules.department(given_department) is not None
        choice = _Choice(
            given_department,
            category,
            1.0,
            "source",
            f"department given by the source: {given_department}",
            needs_triage=not known,
        )
    else:
        choice = _department(normalized, rules, category, model, learned)
    department, found_category, triage = choice.department, choice.category, choice.needs_triage
    reasons = [choice.reason]
    if category and rules.category_owner(category) is None:
        triage = True  # kept as the sender gave it, never rejected
        reasons.append(f"unknown category {category!r} kept, needs triage")
    final_category = category or found_category
    if translated:
        reasons.insert(0, f"service code {code} → category {translated}")
    place = _by_place(normalized.location, rules)
    if place and place[0] != department and not triage:
        reasons.append(place[1].replace("→", "→ area office"))
    priority, why = priority_of(normalized, final_category, normalized.kind, rules)
    if why:
        reasons.append(why)
    sla = sla_of(rules, department, normalized.kind, priority)
    return RoutingDecision(
        department=department,
        category=final_category,
        priority=priority,
        sla_hours=sla.resolution_hours if sla else None,
        first_response_hours=sla.first_response_hours if sla else None,
        sla_clock=sla.clock if sla else "business",
        confidence=round(choice.confidence, 3),
        needs_triage=triage,
        reason="; ".join(reasons),
        rules_version=rules.version,
        basis=choice.basis,
        suggestion=_suggestion(normalized, model, department),
    )


def _suggestion(normalized: Normalized, model: LearnedRouter | None, department: str) -> str | None:
    """The model's best guess when it is not the department chosen (a hint for triage)."""
    guess = model.predict(normalized.match_text) if model else None
    return guess[0] if guess and guess[0] != department else None
