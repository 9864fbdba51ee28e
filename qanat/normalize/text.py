"""Match form of a text: the spelling-insensitive version dedupe, routing and search compare.

The citizen's own text is never changed; the match form is a separate field. It is
NFKC-normalised; Arabic diacritics, tatweel and Quranic marks are removed; alef, yaa,
taa marbuta, hamza-on-waw/yaa forms are unified; Arabic-Indic and Persian digits become
Latin; Latin is case-folded; URLs, emails, phone numbers and @handles become the words
``url``, ``email``, ``phone``, ``mention`` (the originals are returned separately);
emoji, punctuation and invisible controls go; letters repeated for emphasis collapse.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field

#: Longer texts are matched on their start (and flagged); storage keeps everything.
MAX_MATCH_CHARS = 20_000

_SURROGATES = re.compile("[\ud800-\udfff]")
# Zero-width characters, bidi embeddings/overrides/isolates, BOM, soft hyphen, ALM.
_CONTROLS = (
    "\u200b\u200c\u200d\u200e\u200f"  # zero-width space/joiners, LRM, RLM
    "\u202a\u202b\u202c\u202d\u202e"  # embeddings and overrides
    "\u2066\u2067\u2068\u2069"  # isolates
    "\ufeff\u00ad\u061c"  # BOM, soft hyphen, Arabic letter mark
)
_CONTROL_RE = re.compile(f"[{_CONTROLS}]")
_CONTROL_IN_WORD = re.compile(rf"\w[{_CONTROLS}]+\w")
# Tashkeel, Quranic annotation marks, superscript alef, and tatweel.
_ARABIC_MARKS = re.compile("[\u0610-\u061a\u064b-\u065f\u0670\u06d6-\u06ed\u0640]")
_LETTER_FORMS = str.maketrans(
    {
        "أ": "ا",
        "إ": "ا",
        "آ": "ا",
        "ٱ": "ا",
        "ى": "ي",
        "ة": "ه",
        "ؤ": "و",
        "ئ": "ي",
        "ک": "ك",
        "ی": "ي",
        **{chr(0x0660 + d): str(d) for d in range(10)},
        **{chr(0x06F0 + d): str(d) for d in range(10)},
    }
)
_URL = re.compile(r"(?:https?://|www\.)\S+", re.IGNORECASE)
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_HANDLE = re.compile(r"(?<![\w@])@\w{2,30}")
_PHONE = re.compile(r"(?<![\w+])(?:\+|00)?\d{2,4}(?:[\s-]?\d{2,4}){1,3}(?!\w)")
#: A run of digits is a phone number only from this many digits (blocks have 3–4).
PHONE_MIN_DIGITS = 8
_NOT_WORD = re.compile(r"[\W_]+")
_REPEATS = re.compile(r"(\D)\1{2,}")
_SPACES = re.compile(r"\s+")


@dataclass(frozen=True)
class MatchText:
    """The match form and what was taken out of the text on the way."""

    text: str
    urls: list[str] = field(default_factory=list)
    emails: list[str] = field(default_factory=list)
    phones: list[str] = field(default_factory=list)
    handles: list[str] = field(default_factory=list)
    flags: list[str] = field(default_factory=list)


def fold(text: str) -> str:
    """NFKC, no invisible controls or Arabic marks, unified letters, Latin digits, casefold.

    The shared first step of the match form and of place and reference extraction.
    """
    return _unified(text).casefold()


def _unified(text: str) -> str:
    text = unicodedata.normalize("NFKC", _SURROGATES.sub("\ufffd", text))
    return _ARABIC_MARKS.sub("", _CONTROL_RE.sub("", text)).translate(_LETTER_FORMS)


def _take_phones(text: str, found: list[str]) -> str:
    def replace(match: re.Match[str]) -> str:
        if sum(ch.isdigit() for ch in match.group()) < PHONE_MIN_DIGITS:
            return match.group()
        found.append(match.group())
        return " phone "

    return _PHONE.sub(replace, text)


def clean_for_matching(text: str) -> MatchText:
    """The match form of ``text``, with the URLs, emails, phones and handles it held."""
    flags: list[str] = []
    if len(text) > MAX_MATCH_CHARS:
        text, flags = text[:MAX_MATCH_CHARS], ["truncated_for_matching"]
    if _CONTROL_IN_WORD.search(text):
        flags.append("disguised_text")
    unified = _unified(text)
    urls = _URL.findall(unified)
    unified = _URL.sub(" url ", unified)
    emails = _EMAIL.findall(unified)
    unified = _EMAIL.sub(" email ", unified)
    handles = _HANDLE.findall(unified)
    unified = _HANDLE.sub(" mention ", unified)
    phones: list[str] = []
    unified = _take_phones(unified, phones)
    folded = _NOT_WORD.sub(" ", unified.casefold())
    folded = _REPEATS.sub(r"\1", folded)
    return MatchText(_SPACES.sub(" ", folded).strip(), urls, emails, phones, handles, flags)


def match_form(text: str) -> str:
    """The match form of ``text`` (idempotent: applying it twice changes nothing)."""
    return clean_for_matching(text).text


# Small, documented stop-word list: words that say nothing about *which* problem it is.
# Gulf dialect and MSA function words, greetings and politeness, and English ones.
STOP_WORDS = frozenset(
    [
        "في",
        "من",
        "الي",
        "الى",
        "علي",
        "على",
        "عن",
        "مع",
        "هذا",
        "هذه",
        "هذي",
        "ذلك",
        "تلك",
        "هو",
        "هي",
        "هم",
        "انا",
        "نحن",
        "انت",
        "ما",
        "لا",
        "لم",
        "لن",
        "ان",
        "او",
        "ثم",
        "قد",
        "كان",
        "كانت",
        "يكون",
        "التي",
        "الذي",
        "اللي",
        "الا",
        "حتي",
        "بعد",
        "قبل",
        "عند",
        "لين",
        "الحين",
        "كل",
        "بس",
        "بعض",
        "يا",
        "جماعه",
        "السلام",
        "عليكم",
        "ورحمه",
        "الله",
        "وبركاته",
        "مرحبا",
        "شكرا",
        "الرجاء",
        "نرجو",
        "ارجو",
        "لو",
        "سمحتم",
        "يعطيكم",
        "العافيه",
        "مشكورين",
        "تحياتي",
        "مع",
        "الشكر",
        "وايد",
        "جدا",
        "مره",
        "عندنا",
        "عندي",
        "فيه",
        "فيها",
        "في",
        "the",
        "a",
        "an",
        "of",
        "in",
        "on",
        "at",
        "to",
        "for",
        "from",
        "and",
        "or",
        "is",
        "are",
        "was",
        "were",
        "be",
        "been",
        "it",
        "this",
        "that",
        "there",
        "please",
        "thanks",
        "thank",
        "you",
        "hello",
        "hi",
        "dear",
        "sir",
        "madam",
        "regards",
        "our",
        "my",
        "we",
        "i",
    ]
)
_PREFIXES = ("وال", "بال", "فال", "كال", "لل", "ال")


def strip_prefix(word: str) -> str:
    """Light Arabic prefix stripping: the article and its conjunction/preposition combos.

    Only when at least three letters remain, so short roots are left alone; a bare
    conjunction و is stripped from words of five letters or more.
    """
    for prefix in _PREFIXES:
        if word.startswith(prefix) and len(word) - len(prefix) >= 3:
            return word[len(prefix) :]
    if word.startswith("و") and len(word) >= 5:
        return word[1:]
    return word


def match_tokens(match_text: str) -> list[str]:
    """The words of a match form that carry meaning: prefixes stripped, stop words gone."""
    return [
        token
        for word in match_text.split()
        if word not in STOP_WORDS
        and (token := strip_prefix(word)) not in STOP_WORDS
        and len(token) > 1
    ]


_ARABIC_LETTER = re.compile("[\u0621-\u064a\u0671-\u06d3]")
_LATIN_LETTER = re.compile("[a-zA-Z]")
_ARABIZI_WORD = re.compile(r"\b(?=\w*[a-z])(?=\w*[235679])[a-z0-9']{2,}\b", re.IGNORECASE)
_ARABIZI_LEXICON = frozenset(
    [
        "inshallah",
        "mashallah",
        "yalla",
        "shlon",
        "shino",
        "wain",
        "wayed",
        "mushkila",
        "mushkilah",
        "mayya",
        "7ag",
        "3ndna",
        "share3",
        "ya3ni",
        "habibi",
        "ma3",
        "el",
        "al",
        "fi",
        "shukran",
        "salam",
    ]
)


def language_of(text: str) -> str:
    """``ar``, ``en``, ``mixed`` (by the share of letters in each script) or ``ar-Latn``.

    Arabizi — Arabic written in Latin letters with digits for the letters Latin lacks
    ("3ndna mushkila fi al share3") — is recognised as ``ar-Latn``.
    """
    arabic = len(_ARABIC_LETTER.findall(text))
    latin = len(_LATIN_LETTER.findall(text))
    if arabic == 0 and latin == 0:
        return "ar"
    if arabic and latin and min(arabic, latin) / (arabic + latin) >= 0.2:
        return "mixed"
    if arabic >= latin:
        return "ar"
    words = text.casefold().split()
    arabizi = len(_ARABIZI_WORD.findall(text.casefold())) + sum(
        1 for w in words if w.strip(".,!?") in _ARABIZI_LEXICON
    )
    return "ar-Latn" if words and arabizi / len(words) >= 0.25 else "en"
