"""Bahraini places in free text: building / road / block, area and governorate.

People write "مجمع ٣٠٥ طريق ٤٥ مبنى ١٢", "Bldg 1322, Rd 1521, Block 317", "بلوك 338",
in any order and either digit script. A number counts only next to a keyword that names
it: qanat never invents a location. A location the channel gave (form fields, app or
Telegram coordinates) wins over the text and keeps its coordinates.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from qanat.model import Location
from qanat.normalize.text import fold

GAZETTEER = Path(__file__).parent / "gazetteer.csv"

#: Confidence of a part the channel gave, one found by keyword, one from the gazetteer.
GIVEN, KEYWORD, LOOKED_UP = 1.0, 0.95, 0.8

_NUMBER = r"(?:رقم|no\.?|num(?:ber)?\.?|#|n\.)?\s*[:.\-]?\s*"
# A keyword starts a word, optionally after the article, a conjunction or a preposition
# ("بمجمع 1051", "والطريق").
_START = r"(?<!\w)(?:ال|وال|بال|فال|لل|[وبلف])?"
_PATTERNS = {
    "block": re.compile(
        rf"{_START}(?:مجمع|مجمّع|مجموع|بلوك|بلك|block|blk|blck|blok)\s*{_NUMBER}(\d{{3,4}})(?!\d)"
    ),
    "road": re.compile(
        rf"{_START}(?:طريق|طريج|شارع|رود|road|rd|street|str|st|avenue|ave)\.?\s*{_NUMBER}"
        r"(\d{1,5})(?!\d)"
    ),
    "building": re.compile(
        rf"{_START}(?:مبني|مبنا|منزل|بيت|فيلا|فيله|عماره|بنايه|building|bldg|bld|house|villa|"
        rf"home)\.?\s*{_NUMBER}(\d{{1,5}})(?!\d)"
    ),
    "flat": re.compile(rf"{_START}(?:شقه|شقة|flat|apt|apartment)\.?\s*{_NUMBER}(\d{{1,4}})(?!\d)"),
}


# "4315 W Roscoe St", "12B Main Street, Dorchester, MA": a house number, then the street.
_STREET_ADDRESS = re.compile(r"^\s*(\d{1,6})[a-z]?(?:\s*-\s*\d{1,6}[a-z]?)?\s+([a-z][a-z .'-]*)")
# The kind of street is left out of its name ("Roscoe St" and "Roscoe Street" are one).
_STREET_KINDS = frozenset(
    "st street rd road ave av avenue blvd boulevard dr drive ln lane pl place ct court "  # noqa: SIM905
    "ter terrace pkwy parkway hwy highway way sq square cir circle".split()
)
#: A street name is kept to what the ticket's road column holds.
STREET_CHARS = 20


def street_address(address: str) -> tuple[str, str] | None:
    """(house number, street) of a Western street address, or None: "4315 W Roscoe St"
    gives ("4315", "w roscoe"). A range ("10-12 Main St") keeps its first number."""
    match = _STREET_ADDRESS.match(fold(address.split(",")[0]))
    if match is None:
        return None
    words = [w for w in match.group(2).replace(".", " ").split() if w not in _STREET_KINDS]
    street = " ".join(words)[:STREET_CHARS].strip()
    return (match.group(1).lstrip("0") or "0", street) if street else None


def _from_address(address: str) -> dict[str, str]:
    """The building and road an address names, in Bahrain's words or as a street address."""
    parts, _confidence = _from_text(fold(address))
    if "road" in parts or "building" in parts:
        return parts
    found = street_address(address)
    return {"building": found[0], "road": found[1]} if found else parts


@dataclass(frozen=True)
class Area:
    """A block range's area and governorate, in English and Arabic."""

    block_from: int
    block_to: int
    area_en: str
    area_ar: str
    governorate_en: str
    governorate_ar: str


@lru_cache(maxsize=4)
def load_gazetteer(path: Path = GAZETTEER) -> tuple[Area, ...]:
    """The block ranges of the gazetteer file (read once per process)."""
    with path.open(encoding="utf-8") as handle:
        rows = csv.DictReader(line for line in handle if not line.startswith("#"))
        return tuple(
            Area(
                int(r["block_from"]),
                int(r["block_to"]),
                r["area_en"],
                r["area_ar"],
                r["governorate_en"],
                r["governorate_ar"],
            )
            for r in rows
        )


def area_of_block(block: str, gazetteer: tuple[Area, ...] | None = None) -> Area | None:
    """The area a block number belongs to, if the gazetteer knows it."""
    if not block.isdigit():
        return None
    number = int(block)
    for area in gazetteer or load_gazetteer():
        if area.block_from <= number <= area.block_to:
            return area
    return None


@lru_cache(maxsize=4)
def _area_names(path: Path = GAZETTEER) -> tuple[tuple[re.Pattern[str], Area], ...]:
    seen: dict[str, Area] = {}
    for area in load_gazetteer(path):
        for name in (area.area_en, area.area_ar):
            seen.setdefault(fold(name), area)
    return tuple(
        (re.compile(rf"(?<!\w)(?:[وبلف])?{re.escape(name)}(?!\w)"), area)
        for name, area in sorted(seen.items(), key=lambda item: -len(item[0]))
    )


def _from_text(folded: str) -> tuple[dict[str, str], dict[str, float]]:
    parts: dict[str, str] = {}
    for part, pattern in _PATTERNS.items():
        match = pattern.search(folded)
        if match:
            parts[part] = match.group(1).lstrip("0") or "0"
    return parts, dict.fromkeys(parts, KEYWORD)


def extract_location(
    text: str, given: Location | None = None
) -> tuple[Location | None, dict[str, float]]:
    """The place a message is about, and a confidence (0–1) per part found.

    Given parts (from the channel) win; the text fills what they lack; the block's
    area and governorate come from the gazetteer, else an area named in the text.
    """
    folded = fold(text)
    parts, confidence = _from_text(folded)
    if given is not None:
        if given.address and not (given.road or given.building):
            for key, value in _from_address(given.address).items():
                parts.setdefault(key, value)
                confidence[key] = GIVEN
        for key, value in given.model_dump(exclude_none=True).items():
            parts[key] = value
            confidence[key] = GIVEN
    area = area_of_block(str(parts["block"])) if "block" in parts else None
    if area is None:
        area = next((a for pattern, a in _area_names() if pattern.search(folded)), None)
        if area is not None and "area" not in parts:
            confidence.setdefault("area", KEYWORD)
            confidence.setdefault("governorate", LOOKED_UP)
    elif "area" not in parts:
        confidence.setdefault("area", LOOKED_UP)
        confidence.setdefault("governorate", LOOKED_UP)
    if area is not None:
        parts.setdefault("area", area.area_en)
        parts.setdefault("governorate", area.governorate_en)
    if not parts:
        return None, {}
    return Location.model_validate(parts), confidence
