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
_CONTROL_IN_WORD = re.compile(rf"\w[{_CONTROLS}]+\w")

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
# Phones are found after punctuation became spaces, so a second pass finds nothing new:
# a Bahraini number (8 digits, starting 1/3/6/8/9, maybe after 973 or 00973), or any
# unbroken run of 9–15 digits. Blocks (3–4 digits) and dates never match.
_PHONE = re.compile(r"(?<!\d)(?:(?:00 ?)?973 ?)?[13689]\d{3} ?\d{4}(?!\d)|(?<!\d)\d{9,15}(?!\d)")
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


# One translate pass removes controls, marks and tatweel and unifies letters and digits.
_UNIFY = {
    **_LETTER_FORMS,
    **{ord(ch): None for ch in _CONTROLS},
    **{code: None for code in range(0x0610, 0x061B)},
    **{code: None for code in range(0x064B, 0x0660)},
    **{code: None for code in range(0x06D6, 0x06EE)},
    0x0670: None,
    0x0640: None,
}


def _unified(text: str) -> str:
    if not text.isascii():
        if _SURROGATES.search(text):
            text = _SURROGATES.sub("\ufffd", text)
        if not unicodedata.is_normalized("NFKC", text):
            text = unicodedata.normalize("NFKC", text)
    return text.translate(_UNIFY)


def clean_for_matching(text: str) -> MatchText:
    """The match form of ``text``, with the URLs, emails, phones and handles it held."""
    flags: list[str] = []
    if len(text) > MAX_MATCH_CHARS:
        text, flags = text[:MAX_MATCH_CHARS], ["truncated_for_matching"]
    unified = _unified(text)
    if len(unified) < len(text) and _CONTROL_IN_WORD.search(text):
        flags.append("disguised_text")
    urls = emails = handles = []
    lowered = unified.lower()
    if "http" in lowered or "www." in lowered:
        urls = _URL.findall(unified)
        unified = _URL.sub(" url ", unified)
    if "@" in unified:
        emails = _EMAIL.findall(unified)
        unified = _EMAIL.sub(" email ", unified)
        handles = _HANDLE.findall(unified)
        unified = _HANDLE.sub(" mention ", unified)
    # Whitespace is \W too: this one pass also leaves single spaces between words.
    folded = _NOT_WORD.sub(" ", unified.casefold())
    phones = _PHONE.findall(folded)
    if phones:
        folded = _SPACES.sub(" ", _PHONE.sub(" phone ", folded))
    folded = _REPEATS.sub(r"\1", folded).strip()
    return MatchText(folded, urls, emails, phones, handles, flags)


def search_form(text: str) -> str:
    """What staff type in the search box, in match form but keeping numbers as typed:
    a phone number searched for stays a number (the match form would say ``phone``)."""
    folded = _NOT_WORD.sub(" ", _unified(text[:MAX_MATCH_CHARS]).casefold())
    return _REPEATS.sub(r"\1", folded).strip()


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


#: Words the match form puts in place of URLs, emails, handles and phones.
_PLACEHOLDERS = frozenset({"url", "email", "mention", "phone"})
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
    return language_of_match(match_form(text))


def language_of_match(match_text: str) -> str:
    """:func:`language_of` for a text already in match form (what the pipeline has)."""
    arabic = latin = 0
    for word in match_text.split():
        if not word.isascii():
            arabic += len(word)
        elif not word.isdigit() and word not in _PLACEHOLDERS:
            latin += len(word)
    text = match_text
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
