"""Kind: complaint, suggestion, inquiry, request or compliment, from Arabic and English cues.

Each kind's cues are counted in the match form; problem words count for complaint, so
a "شكراً" closing a complaint stays a complaint. Ties and silence mean complaint: that
is what most citizens write, and staff correct the rest (corrections are kept).
"""

from __future__ import annotations

import re

from qanat.model import Kind

_CUES: dict[Kind, tuple[str, ...]] = {
    Kind.suggestion: (
        "اقتراح",
        "اقترح",
        "نقترح",
        "مقترح",
        "اقتراحي",
        "فكره",
        "يا ريت",
        "ياريت",
        "لو يتم",
        "suggest",
        "suggestion",
        "proposal",
        "propose",
        "idea",
        "recommend",
        "would be great",
    ),
    Kind.inquiry: (
        "استفسار",
        "استفسر",
        "ممكن اعرف",
        "ابي اعرف",
        "ابغي اعرف",
        "اود الاستفسار",
        "متي",
        "كيف",
        "شلون",
        "هل",
        "وين",
        "شنو",
        "ايش",
        "كم",
        "how",
        "when",
        "what",
        "where",
        "which",
        "is there",
        "could you tell",
        "can i",
        "do i need",
        "asks",
        "inquiry",
    ),
    Kind.request: (
        "طلب",
        "اطلب",
        "نطلب",
        "يطلب",
        "تطلب",
        "نبي",
        "ابي",
        "نبغي",
        "نرجو تركيب",
        "نرجو ازاله",
        "تركيب",
        "تقليم",
        "استبدال",
        "ازاله",
        "request",
        "requests",
        "please install",
        "replace",
        "replacement",
        "need a new",
        "trim",
        "repaint",
        "requesting",
        "removal",
        "add",
    ),
    Kind.compliment: (
        "شكر",
        "شكرا",
        "مشكورين",
        "مشكور",
        "يعطيكم العافيه",
        "الله يعطيكم",
        "تقدير",
        "ممتاز",
        "الله يعطي",
        "نظيفه ومرتبه",
        "thank",
        "thanks",
        "appreciated",
        "shout out",
        "great job",
        "well done",
        "shukran",
    ),
}
_PROBLEM = (
    "مشكله",
    "طافحه",
    "مكشوفه",
    "خراب",
    "خربان",
    "خربانه",
    "مكسور",
    "مكسوره",
    "طافح",
    "طفح",
    "حفره",
    "حفر",
    "للحين",
    "لين الحين",
    "ما تصلح",
    "ما احد",
    "محد",
    "خطر",
    "خطير",
    "متراكمه",
    "شكوي",
    "still",
    "broken",
    "not working",
    "dangerous",
    "no one",
    "complaint",
    "overflow",
    "again",
)


#: Thanks for work done: a compliment even when it names the problem that was fixed…
_THANKED_FOR_WORK = (
    "شكرا علي اصلاح",
    "شكرا علي تصليح",
    "شكرا لاصلاح",
    "مشكورين علي اصلاح",
    "مشكورين علي تصليح",
    "thanks for fixing",
    "thank you for fixing",
    "thanks for repairing",
    "thank you for repairing",
)
#: …unless the citizen says it is back or was never fixed.
_NOT_FIXED = (
    "still",
    "again",
    "not fixed",
    "للحين",
    "لين الحين",
    "ما تصلح",
    "مازال",
    "ما زال",
    "رجع",
    "رجعت",
)


def _pattern(words: tuple[str, ...]) -> re.Pattern[str]:
    alternatives = "|".join(re.escape(w) for w in sorted(words, key=len, reverse=True))
    return re.compile(rf"(?<!\w)(?:[وبلف]|ال)?(?:{alternatives})(?!\w)")


_KIND_PATTERNS = {kind: _pattern(words) for kind, words in _CUES.items()}
_PROBLEM_PATTERN = _pattern(_PROBLEM)
_THANKED_PATTERN = _pattern(_THANKED_FOR_WORK)
_NOT_FIXED_PATTERN = _pattern(_NOT_FIXED)


def kind_of(match_text: str, raw_text: str = "") -> Kind:
    """The kind of a message from its match form (``raw_text`` is used for '?')."""
    scores = {kind: len(pattern.findall(match_text)) for kind, pattern in _KIND_PATTERNS.items()}
    if "?" in raw_text or "؟" in raw_text:
        scores[Kind.inquiry] += 1
    problem = len(_PROBLEM_PATTERN.findall(match_text))
    if _THANKED_PATTERN.search(match_text) and not _NOT_FIXED_PATTERN.search(match_text):
        return Kind.compliment  # "thanks for fixing the pothole": the pothole is gone
    scores[Kind.compliment] -= 2 * problem  # thanks that close a complaint are politeness
    scores[Kind.inquiry] -= problem
    best = max(scores, key=lambda kind: scores[kind])
    if scores[best] <= 0:
        return Kind.complaint
    # Asking for a new bin because the old one is broken is still a request; a question
    # or thanks next to a problem is a complaint.
    asks_for_work = best in (Kind.request, Kind.suggestion)
    if scores[best] < problem or (not asks_for_work and scores[best] <= problem):
        return Kind.complaint
    return best
