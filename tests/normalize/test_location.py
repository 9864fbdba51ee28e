"""Bahraini addresses: a test set of over 100 written the ways people write them."""

from __future__ import annotations

import json
from pathlib import Path

from qanat.model import Location
from qanat.normalize.location import area_of_block, extract_location, street_address

SET = Path(__file__).parent.parent / "fixtures" / "normalize" / "locations.jsonl"
PARTS = ("block", "road", "building")


def test_precision_and_recall_over_the_address_set() -> None:
    rows = [json.loads(line) for line in SET.read_text(encoding="utf-8").splitlines()]
    found = correct = expected = 0
    for row in rows:
        location, _confidence = extract_location(row["text"])
        for part in PARTS:
            got = getattr(location, part) if location else None
            found += got is not None
            correct += got is not None and got == row[part]
            expected += row[part] is not None
    precision, recall = correct / found, correct / expected
    print(f"locations: n={len(rows)} precision={precision:.3f} recall={recall:.3f}")
    assert len(rows) >= 100
    assert precision >= 0.95 and recall >= 0.85


def test_numbers_without_a_keyword_are_never_a_place() -> None:
    for text in ("اتصلت 5 مرات على 17123456", "كلف التصليح 250 دينار", "من 2 أيام"):
        assert extract_location(text) == (None, {})


def test_block_gives_area_and_governorate_with_lower_confidence() -> None:
    location, confidence = extract_location("حفرة في مجمع ٩٠٤ طريق ٩١٥")
    assert location == Location(block="904", road="915", area="Riffa", governorate="Southern")
    assert confidence["block"] == 0.95 and confidence["area"] < confidence["block"]


def test_the_channel_s_location_wins_and_keeps_its_coordinates() -> None:
    given = Location(lat=26.22, lon=50.58, block="338")
    location, confidence = extract_location("مجمع 305 طريق 45", given)
    assert location is not None and location.block == "338" and location.road == "45"
    assert (location.lat, location.lon) == (26.22, 50.58) and confidence["block"] == 1.0


def test_an_area_named_in_the_text_is_found_without_a_block() -> None:
    location, _ = extract_location("الإنارة طافية في مدينة عيسى")
    assert location == Location(area="Isa Town", governorate="Southern")
    assert area_of_block("99999") is None


def test_a_street_address_given_by_a_channel_names_a_house_and_a_road() -> None:
    given = Location(address="4315 W Roscoe St, Chicago, IL", lat=41.9433, lon=-87.7343)
    location, confidence = extract_location("Snow - Uncleared Sidewalk", given)
    assert location is not None and (location.building, location.road) == ("4315", "w roscoe")
    assert location.lat == 41.9433 and confidence["road"] == 1.0
    assert street_address("4319 W. Roscoe Street") == ("4319", "w roscoe")
    assert street_address("10-12 Main Street, Dorchester, MA") == ("10", "main")
    assert street_address("INTERSECTION of Boylston St & Tremont St") is None
    bahraini = extract_location("", Location(address="Bldg 1322, Rd 1521, Block 317"))[0]
    assert bahraini is not None and (bahraini.building, bahraini.road) == ("1322", "1521")


def test_a_block_after_a_preposition_is_read() -> None:
    location, _confidence = extract_location("يوجد طفح في الطريق رقم 5130 بمجمع 1051 الزلاق")
    assert location is not None and (location.block, location.road) == ("1051", "5130")
