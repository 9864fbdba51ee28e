"""Reading a citizen's answer to "is it fixed?": a score, yes or no, STOP, or no answer.

Pure: text in, :class:`SurveyAnswer` out. Citizens answer in Arabic (Gulf and Modern
Standard), English, digits in either script, or an emoji; a reply that says the problem
is still there or back counts as "no" whatever its length, while "yes" words count only
in a short reply (a long message that happens to say "thanks" is a follow-up).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum
from itertools import pairwise


class Verdict(StrEnum):
    """What an answer says."""

    positive = "positive"
    #: A middling score (3): recorded, the ticket left resolved.
    neutral = "neutral"
    negative = "negative"
    #: STOP / إيقاف: no more notices.
    stop = "stop"
    #: Not an answer: an ordinary follow-up.
    none = "none"


@dataclass(frozen=True)
class SurveyAnswer:
    """A classified answer: its verdict and, when the citizen gave one, a 1–5 score."""

    verdict: Verdict
    score: int | None = None

    @property
    def is_answer(self) -> bool:
        """True for a yes, a no or a score (not for STOP or a follow-up)."""
        return self.verdict in (Verdict.positive, Verdict.neutral, Verdict.negative)


_DIGITS = str.maketrans("٠١٢٣٤٥٦٧٨٩۰۱۲۳۴۵۶۷۸۹", "01234567890123456789")
_DIACRITICS = re.compile(r"[\u064b-\u0652\u0670\u0640]")  # harakat, dagger alef, tatweel
_STOP = frozenset(
    {"stop", "stopall", "unsubscribe", "cancel", "end", "quit", "ايقاف", "توقف", "الغاء"}
)
_SCORE = re.compile(r"^(?:score\s*|rating\s*|تقييم\s*)?([1-5])(?:\s*(?:/|من|out of)\s*5)?$")
_POSITIVE_EMOJI = ("✅", "👍", "✔", "☑", "😊", "🙂", "😀", "😍", "🙏", "👌", "❤", "⭐")
_NEGATIVE_EMOJI = ("❌", "👎", "✖", "❎", "😡", "😠", "😞", "☹", "🙁", "😤")
_POSITIVE = frozenset(
    {
        # English
        "yes", "yeah", "yep", "yup", "y", "fixed", "solved", "resolved", "done", "thanks",
        "thank", "thx", "ok", "okay", "good", "great", "perfect", "satisfied", "excellent",
        "working", "works", "sorted", "repaired",
        # Arabic (written as normalized: alef forms as ا, ى as ي, ة as ه)
        "نعم", "ايوه", "ايوا", "اي", "ايه", "اه", "تم", "تمت", "انحلت", "انحل", "حلت",
        "تصلحت", "تصلح", "انصلحت", "اتصلحت", "صلحوها", "صلحتوها", "شكرا", "مشكورين",
        "مشكور", "زين", "تمام", "ممتاز", "ممتازه", "اكيد", "بلي", "راضي", "راضيه", "الحمدلله",
        "يعطيكم", "العافيه", "اصلحت", "اصلاحها", "انتهت",
    }
)  # fmt: skip
_NEGATIVE = frozenset(
    {
        # English
        "no", "nope", "nah", "not", "never", "still", "broken", "again", "worse", "unsolved",
        "unfixed", "unresolved", "nothing", "nobody",
        # Arabic
        "لا", "كلا", "زالت", "زال", "مازالت", "مازال", "لازالت", "لازال", "للحين", "لحين",
        "لسه", "لسا", "لساتها", "باقي", "باقيه", "رجعت", "رجع", "عادت", "عاد", "خربانه",
        "خربان", "ماتصلحت", "ماانحلت", "مانحلت", "ماصلحوها", "لم", "لن", "ابد",
        "غير", "مب",
    }
)  # fmt: skip
#: Words that turn the "yes" word after them into a "no": "ما تصلحت", "مو زين".
_NEGATORS = frozenset({"ما", "مو", "مش", "ليس", "ليست", "isnt", "didnt", "wasnt", "hasnt"})
#: Phrases that hold a "no" word but mean all is well.
_ALL_WELL = ("no problem", "no problems", "ما في مشكله", "مافي مشكله")
#: A reply this long is a follow-up unless it says "no".
_SHORT = 8


def _normal(text: str) -> str:
    text = _DIACRITICS.sub("", text.translate(_DIGITS)).lower()
    text = re.sub(r"[إأآٱ]", "ا", text).replace("ى", "ي").replace("ة", "ه")
    return re.sub(r"n[’']t\b", " not", text)


def classify_answer(text: str) -> SurveyAnswer:
    """What a citizen's reply says about whether their problem is fixed."""
    normal = _normal(text).strip()
    bare = re.sub(r"[\s.,!؟?،:;\-_()\[\]\"'*]+", " ", normal).strip()
    if bare in _STOP:
        return SurveyAnswer(Verdict.stop)
    if match := _SCORE.match(bare):
        score = int(match.group(1))
        if score >= 4:
            return SurveyAnswer(Verdict.positive, score)
        return SurveyAnswer(Verdict.neutral if score == 3 else Verdict.negative, score)
    words = re.findall(r"\w+", normal)
    if any(phrase in " ".join(words) for phrase in _ALL_WELL) and len(words) <= _SHORT:
        return SurveyAnswer(Verdict.positive)
    negated = any(
        word in _NEGATORS and following in _POSITIVE for word, following in pairwise(words)
    )
    if negated or any(word in _NEGATIVE for word in words):
        return SurveyAnswer(Verdict.negative)
    if any(mark in text for mark in _NEGATIVE_EMOJI):
        return SurveyAnswer(Verdict.negative)
    short = len(words) <= _SHORT
    if short and any(mark in text for mark in _POSITIVE_EMOJI):
        return SurveyAnswer(Verdict.positive)
    if short and any(word in _POSITIVE for word in words):
        return SurveyAnswer(Verdict.positive)
    return SurveyAnswer(Verdict.none)
