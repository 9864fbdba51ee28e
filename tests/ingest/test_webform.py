"""The public report: photos judged by their bytes, fields checked, the message it becomes."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from pydantic import ValidationError

from qanat.errors import BadPayload, TooLarge, WrongContent
from qanat.ingest.webform import (
    PublicReport,
    check_photo,
    contact_of,
    photo_format,
    report_inbound,
    what_it_is,
)
from qanat.normalize import sender_identities

FIXTURES = Path(__file__).parent.parent / "fixtures" / "web"
PNG = (FIXTURES / "pothole.png").read_bytes()


def test_a_png_is_a_png_whatever_its_name_says() -> None:
    photo = check_photo("حفرة.jpg", PNG, max_bytes=10_000)
    assert (photo.name, photo.content_type, photo.size) == ("حفرة.png", "image/png", len(PNG))
    assert photo.content == PNG


@pytest.mark.parametrize(
    ("fixture", "code", "reason"),
    [
        ("program.jpg", "elf", "a Linux program (ELF)"),
        ("setup.jpg", "pe", "a Windows program (PE)"),
    ],
)
def test_a_program_renamed_jpg_is_refused_saying_what_it_is(
    fixture: str, code: str, reason: str
) -> None:
    content = (FIXTURES / fixture).read_bytes()
    assert photo_format(content) is None and what_it_is(content) == code
    with pytest.raises(WrongContent) as refused:
        check_photo(fixture, content, max_bytes=10_000)
    assert str(refused.value) == f"{fixture} is not a photo: its bytes are {reason}"


def test_svg_and_empty_files_are_not_photos() -> None:
    assert what_it_is(b'  <svg onload="alert(1)"/>') == "markup"
    with pytest.raises(WrongContent, match="the file is empty"):
        check_photo("nothing.png", b"", max_bytes=10)


def test_an_oversized_photo_is_refused_with_the_limit() -> None:
    with pytest.raises(TooLarge, match="73 bytes is over the 50-byte photo limit"):
        check_photo("pothole.png", PNG, max_bytes=50)


def test_names_lose_paths_and_odd_characters() -> None:
    photo = check_photo("../../etc/x\u202egpj.exe.png", PNG, max_bytes=10_000)
    assert photo.name == "xgpj.exe.png"


def test_numbers_in_either_script_and_places_are_checked() -> None:
    report = PublicReport(text="حفرة", block="٣٠٥", road="45", building="", phone="33445566")
    assert (report.block, report.road, report.building) == ("305", "45", None)
    for wrong in ({"block": "30"}, {"road": "طريق"}, {"lat": 26.2}):
        with pytest.raises(ValidationError):
            PublicReport(text="x", **wrong)  # type: ignore[arg-type]
    assert PublicReport(text="x").location() is None


def test_contact_details_become_identities() -> None:
    report = PublicReport(text="x", phone="٣٣٤٤٥٥٦٦", email=" Ali@Example.BH ")
    assert contact_of(report, region="BH") == ("+97333445566", "ali@example.bh")
    for wrong, reason in (
        ({"phone": "12"}, "phone number"),
        ({"email": "ali@"}, "email address"),
        ({}, "give a phone number or an email"),
    ):
        with pytest.raises(BadPayload, match=reason):
            contact_of(PublicReport(text="x", **wrong), region="BH")


def test_the_message_a_report_becomes() -> None:
    report = PublicReport(
        kind="complaint",
        category="pothole",
        text="حفرة عميقة",
        block="305",
        lat=26.2,
        lon=50.58,
        name="علي",
        phone="33445566",
    )
    photo = check_photo("p.png", PNG, max_bytes=10_000)
    inbound = report_inbound(
        report,
        channel="web",
        account="public",
        external_id="abc",
        received_at=datetime(2026, 11, 3, tzinfo=UTC),
        region="BH",
        photos=[photo],
    )
    assert inbound.sender.handle == inbound.sender.phone == "+97333445566"
    assert inbound.category == "pothole" and inbound.kind == "complaint"
    assert inbound.location is not None and inbound.location.block == "305"
    assert [a.content_type for a in inbound.attachments] == ["image/png"]
    identities = sender_identities(inbound.channel, inbound.sender)
    assert [(i.kind, i.value) for i in identities] == [("phone", "+97333445566")]
