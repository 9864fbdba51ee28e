"""What the pipeline recorded, told as sentences in the reader's language.

The router writes its reason as short English parts ("keyword طفح → Sewage and drainage;
category sewage_overflow → high"), and dedupe writes its evidence as numbers
(``same_block=True text=43.5``). Nothing stored changes: :func:`routing_steps` reads
each part back into a :class:`Step` (the formats are the router's, in
:mod:`qanat.router.decide`; ``tests/web/test_explain.py`` routes real messages to keep
the two in step), and the ``*_sentence`` functions say them with :mod:`qanat.web.i18n`'s
words, names instead of codes. A part no pattern knows is shown as written.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from qanat.model import BUILTIN_CHANNELS, Kind, Priority
from qanat.web import wording
from qanat.web.i18n import isolated
from qanat.web.names import SYSTEM_ACTORS, Names, place

KINDS = frozenset(k.value for k in Kind)
PRIORITIES = frozenset(p.value for p in Priority)
#: Channels write events too (a delivery status, an edit): named like the channel.
CHANNEL_ACTORS = tuple(BUILTIN_CHANNELS)
_QUOTED = r"""(?:'(?P<q1>[^']*)'|"(?P<q2>[^"]*)")"""
_PLACE = r"(?P<part>block|area|governorate) (?P<place>.+)"
#: (step, pattern) in the order they are tried; the first that matches a part wins.
PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = tuple(
    (name, re.compile(pattern))
    for name, pattern in (
        ("category", r"^category (?P<category>\S+) → (?P<target>\S+)$"),
        ("kind", r"^(?P<kind>[a-z]+) → (?P<target>\S+)$"),
        ("keyword", r"^keyword (?P<words>.+) → (?P<department>.+)$"),
        ("learned", r"^learned from past tickets \((?P<percent>\d+)%\)$"),
        ("area_office", rf"^{_PLACE} → area office (?P<department>.+)$"),
        ("place", rf"^{_PLACE} → (?P<department>.+)$"),
        ("no_rule", r"^no rule matched → (?P<department>\S+), needs triage$"),
        ("unsure", r"^learned guess (?P<guess>\S+) only (?P<percent>\d+)%"
                   r" → (?P<department>\S+), needs triage$"),
        ("given", r"^department given by the source: (?P<department>.+)$"),
        ("unknown_category", rf"^unknown category {_QUOTED} kept, needs triage$"),
        ("words", r"^words (?P<words>.+) → (?P<priority>\S+)$"),
    )
)  # fmt: skip


@dataclass(frozen=True)
class Step:
    """One part of a routing reason, read back: which rule, and its values."""

    rule: str
    values: dict[str, str] = field(default_factory=dict)


def _department_code(value: str, names: Names) -> str:
    """The code of a department written by its English name (or already a code)."""
    if value in names.departments:
        return value
    for code, (_ar, en) in names.departments.items():
        if en == value:
            return code
    return value


def read_step(part: str, names: Names) -> Step:
    """One part of a routing reason as a :class:`Step` (``other`` when unknown)."""
    for rule, pattern in PATTERNS:
        found = pattern.match(part.strip())
        if found is None:
            continue
        values = {k: v for k, v in found.groupdict().items() if v is not None}
        if "q1" in values or "q2" in values:
            values["category"] = values.pop("q1", None) or values.pop("q2", "")
        target = values.pop("target", None)
        if rule == "kind" and values["kind"] not in KINDS:
            continue
        if target is not None and target in PRIORITIES:
            rule, values["priority"] = f"{rule}_priority", target
        elif target is not None:
            values["department"] = target
        if "department" in values:
            values["department"] = _department_code(values["department"], names)
        return Step(rule, values)
    return Step("other", {"text": part.strip()})


def routing_steps(reason: str | None, names: Names) -> list[Step]:
    """Every part of a routing reason, read back."""
    return [read_step(part, names) for part in (reason or "").split("; ") if part.strip()]


Translate = Callable[..., str]


def _words(language: str, text: str) -> str:
    words = [w.strip() for w in text.split(",") if w.strip()]
    return "، ".join(words) if language == "ar" else ", ".join(words)


def step_sentence(
    step: Step, *, t: Translate, v: Callable[[str], str], names: Names, language: str
) -> str:
    """A step as a sentence in ``language``, with names instead of codes."""
    values = dict(step.values)
    if step.rule == "other":
        return values["text"]
    if "department" in values:
        values["department"] = names.department(language, values["department"])
    if "guess" in values:
        values["guess"] = names.department(language, values["guess"])
    if "category" in values:
        values["category"] = names.category(language, values["category"])
    for key in ("kind", "priority"):
        if key in values:
            values[key] = v(values[key])
    if "words" in values:
        values["words"] = _words(language, values["words"])
    if "place" in values:
        values["place"] = place(language, values["place"])
        values["part"] = t("part_" + values["part"])
    if "percent" in values:
        values["percent"] = wording.percent(language, float(values["percent"]))
    return t(f"why_{step.rule}", **values)


def routing_sentences(
    data: dict[str, Any], *, t: Translate, v: Callable[[str], str], names: Names, language: str
) -> list[str]:
    """The reason of a ``routed`` event as sentences."""
    steps = routing_steps(str(data.get("reason") or ""), names)
    return [step_sentence(s, t=t, v=v, names=names, language=language) for s in steps]


def _place_parts(features: dict[str, Any], ticket: Any, t: Translate, language: str) -> list[str]:
    parts = []
    for part in ("building", "road", "block"):
        if features.get(f"same_{part}"):
            value = getattr(ticket, part, None) if ticket is not None else None
            parts.append(t(f"same_{part}", number=value or "").strip())
    if features.get("same_area") and not features.get("same_block"):
        parts.append(t("same_area", area=place(language, getattr(ticket, "area", None))).strip())
    if features.get("metres") is not None:
        parts.append(t("metres_apart", metres=features["metres"]))
    return parts


def evidence_sentence(
    data: dict[str, Any], *, ticket: Any, t: Translate, names: Names, language: str
) -> str:
    """A duplicate link's evidence as one sentence: place, category, time, wording."""
    features: dict[str, Any] = data.get("features") or {}
    if not features:
        return (
            t("linked_by_hand") if str(data.get("by", "")).startswith(("staff:", "token:")) else ""
        )
    what = _place_parts(features, ticket, t, language)
    category = getattr(ticket, "category", None)
    if features.get("same_category"):
        what.append(t("same_category", category=names.category(language, category)))
    elif features.get("same_department"):
        what.append(t("same_department"))
    if features.get("same_contact"):
        what.append(t("same_citizen"))
    clauses = [wording.joined(language, what)] if what else []
    if features.get("placeless"):
        clauses.append(t("neither_says_where"))
    if features.get("hours_apart") is not None:
        span = wording.hours_span(language, float(features["hours_apart"]))
        clauses.append(t("reported_apart", span=span))
    if features.get("text") is not None:
        clauses.append(
            t("wording_alike", percent=wording.percent(language, float(features["text"])))
        )
    sentence = ("؛ " if language == "ar" else "; ").join(c for c in clauses if c)
    if data.get("score") is not None:
        score = t(
            "score_of",
            score=f"{float(data['score']):g}",
            threshold=f"{float(data.get('threshold') or 0):g}",
        )
        sentence = f"{sentence} ({score})" if sentence else score
    return sentence


#: Fixed English reasons qanat writes → the key of their words.
KNOWN_REASONS = {
    "empty message: no text, file or place": "reason_empty",
    "primary resolved": "reason_primary_resolved",
    "citizen replied": "reason_citizen_replied",
    "the citizen says it is not fixed": "reason_not_fixed",
    "reopened: the citizen says it is not fixed": "reason_not_fixed",
    "first message": "reason_first_message",
    "same problem": "reason_same_problem",
    "follow-up": "reason_follow_up",
    "delivered by hand": "reason_delivered_by_hand",
    "delivery_failure": "reason_delivery_failure",
    "auto_reply": "reason_auto_reply",
}
_NO_SENDER = re.compile(r"^no sender for channel (?P<channel>\S+): deliver by hand$")
_TRANSFERRED = re.compile(r"^transferred to (?P<department>\S+)$")
_NOT_FIXED = re.compile(r"^(?:reopened: )?(?P<reference>\S+): a reporter says it is not fixed$")
_FAILURE = re.compile(
    r"^(?P<kind>[A-Z][A-Za-z]+(?:Error|Exception|Timeout|Unavailable|Refused)?): "
)


def reason_sentence(
    reason: str | None, *, t: Translate, v: Callable[[str], str], names: Names, language: str
) -> tuple[str, str | None]:
    """A reason qanat wrote, in ``language``, and the technical detail to show apart (for
    failures: the error as the program gave it, for whoever fixes it)."""
    text = (reason or "").strip()
    if not text:
        return "", None
    if text in KNOWN_REASONS:
        return t(KNOWN_REASONS[text]), None
    if found := _NO_SENDER.match(text):
        return t("reason_no_sender", channel=v(found["channel"])), None
    if found := _NOT_FIXED.match(text):
        return t("reason_reporter_not_fixed", reference=isolated(found["reference"])), None
    if found := _TRANSFERRED.match(text):
        return t(
            "reason_transferred", department=names.department(language, found["department"])
        ), None
    kind, _, priority = text.partition(", ")
    if kind in KINDS and priority in PRIORITIES:
        return t("reason_new_kind_priority", kind=v(kind), priority=v(priority)), None
    if _FAILURE.match(text):
        return t("reason_failure"), text
    return text, None


def system_actors(t: Translate, v: Callable[[str], str]) -> dict[str, str]:
    """qanat's own parts and the channels, named for the timeline's "who"."""
    named = {actor: t(f"actor_{actor}") for actor in SYSTEM_ACTORS}
    return {**{channel: v(channel) for channel in CHANNEL_ACTORS}, **named}


def template_helpers(
    language: str, names: Names, t: Translate, v: Callable[[str], str]
) -> dict[str, Any]:
    """What templates call to show names and sentences in ``language``."""
    system = system_actors(t, v)
    return {
        "dept": lambda code: names.department(language, code),
        "category": lambda code: names.category(language, code),
        "person": names.person,
        "actor": lambda actor: names.actor(language, actor, system),
        "place": lambda name: place(language, name),
        "span": lambda length: wording.span(language, length),
        "percent": lambda value: wording.percent(language, value),
        "routing": lambda data: routing_sentences(data, t=t, v=v, names=names, language=language),
        "evidence": lambda data, ticket: evidence_sentence(
            data, ticket=ticket, t=t, names=names, language=language
        ),
        "reason": lambda text: reason_sentence(text, t=t, v=v, names=names, language=language),
        "audit_action": lambda action: said_as(t, f"audit_{action}", f"event_{action}") or action,
    }


def said_as(t: Translate, *keys: str) -> str:
    """The words of the first of ``keys`` that has some ('' when none has)."""
    return next((t(key) for key in keys if t(key) != key), "")
