"""Match form of a text: the spelling-insensitive version dedupe and routing compare."""

from __future__ import annotations

import re
import unicodedata

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
        **{chr(0x0660 + d): str(d) for d in range(10)},
        **{chr(0x06F0 + d): str(d) for d in range(10)},
        "،": ",",
        "؛": ";",
        "؟": "?",
    }
)
_SPACES = re.compile(r"\s+")


def match_form(text: str) -> str:
    """Return the match form of ``text``: NFKC, no diacritics, unified letters, case-folded.

    Idempotent: ``match_form(match_form(t)) == match_form(t)``.
    """
    folded = unicodedata.normalize("NFKC", text)
    folded = _ARABIC_MARKS.sub("", folded).translate(_LETTER_FORMS).casefold()
    return _SPACES.sub(" ", folded).strip()
