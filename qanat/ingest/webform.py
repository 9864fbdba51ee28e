"""The public web form and the citizens' app: a report, checked, as an :class:`Inbound`.

Both send the same fields (:class:`PublicReport`). Photos are judged by their bytes,
never by their name or declared type: a PNG renamed ``.jpg`` is a PNG, a program
renamed ``.jpg`` is refused (422) with what it really is, and one over the size limit
is refused (413). The citizen's phone becomes E.164 and their email is checked, so the
pipeline files the report under the same contact as their calls and SMS.
"""

from __future__ import annotations

import re
import uuid
from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from qanat.errors import BadPayload, TooLarge, WrongContent
from qanat.model import Attachment, Inbound, Kind, Location, Sender
from qanat.normalize.identity import normalize_email, normalize_phone
from qanat.normalize.text import fold

#: The public channels' account names.
WEB_ACCOUNT = "public"
APP_ACCOUNT = "citizens"

#: Photo formats accepted: (bytes, where they start) that mark the format → type, extension.
PHOTO_FORMATS: tuple[tuple[tuple[tuple[bytes, int], ...], str, str], ...] = (
    (((b"\x89PNG\r\n\x1a\n", 0),), "image/png", "png"),
    (((b"\xff\xd8\xff", 0),), "image/jpeg", "jpg"),
    (((b"GIF87a", 0),), "image/gif", "gif"),
    (((b"GIF89a", 0),), "image/gif", "gif"),
    (((b"RIFF", 0), (b"WEBP", 8)), "image/webp", "webp"),
    (((b"ftypheic", 4),), "image/heic", "heic"),
    (((b"ftypheix", 4),), "image/heic", "heic"),
    (((b"ftypmif1", 4),), "image/heif", "heif"),
)
#: What some refused files really are (by their first bytes), so the refusal can say so.
NOT_PHOTOS = (
    (b"\x7fELF", "elf"),
    (b"MZ", "pe"),
    (b"\xcf\xfa\xed\xfe", "macho"),
    (b"\xfe\xed\xfa\xce", "macho"),
    (b"\xca\xfe\xba\xbe", "macho"),
    (b"PK\x03\x04", "zip"),
    (b"%PDF", "pdf"),
    (b"#!", "script"),
    (b"<", "markup"),
)
#: Each kind of refused file in words (the pages translate the same codes).
WHAT_IT_IS = {
    "elf": "its bytes are a Linux program (ELF)",
    "pe": "its bytes are a Windows program (PE)",
    "macho": "its bytes are a macOS program",
    "zip": "its bytes are a ZIP archive",
    "pdf": "its bytes are a PDF document",
    "script": "its bytes are a script",
    "markup": "its bytes are HTML or SVG, which can carry script",
    "unknown": "accepted formats are PNG, JPEG, GIF, WebP and HEIC",
    "empty": "the file is empty",
}
#: Why a report's contact details cannot be used, by code (the pages translate them).
CONTACT_PROBLEMS = {
    "phone_invalid": "the phone number is not one that can be called",
    "email_invalid": "the email address is not valid",
    "contact_needed": "give a phone number or an email, to follow the report",
}
#: Fields a form may send blank, meaning "not given".
OPTIONAL_FIELDS = (
    *("kind", "category", "building", "road", "block", "address"),
    *("lat", "lon", "name", "phone", "email"),
)
_DIGITS_ONLY = re.compile(r"^\d{1,5}$")
_BLOCK = re.compile(r"^\d{3,4}$")
_UNSAFE_NAME = re.compile(r"[^\w.\- ]+")


def photo_format(content: bytes) -> tuple[str, str] | None:
    """The (content type, extension) of an accepted photo format, from its bytes; else None."""
    for marks, content_type, extension in PHOTO_FORMATS:
        if all(content[at : at + len(mark)] == mark for mark, at in marks):
            return content_type, extension
    return None


def what_it_is(content: bytes) -> str:
    """What a file that is not a photo appears to be, as a code of :data:`WHAT_IT_IS`."""
    if not content:
        return "empty"
    stripped = content.lstrip()
    for mark, code in NOT_PHOTOS:
        if (stripped if mark == b"<" else content).startswith(mark):
            return code
    return "unknown"


def photo_name(original: str, extension: str, number: int) -> str:
    """A safe file name for a photo: the citizen's name (cleaned) with its real extension."""
    stem = original.replace("\\", "/").rsplit("/", 1)[-1].rsplit(".", 1)[0]
    stem = _UNSAFE_NAME.sub("", stem).strip(" .")[:80] or f"photo-{number}"
    return f"{stem}.{extension}"


def check_photo(name: str, content: bytes, *, max_bytes: int, number: int = 1) -> Attachment:
    """A photo as an attachment, or :class:`TooLarge` / :class:`WrongContent` with why."""
    label = name or f"photo {number}"
    if len(content) > max_bytes:
        raise TooLarge(f"{label}: {len(content)} bytes is over the {max_bytes}-byte photo limit")
    found = photo_format(content)
    if found is None:
        raise WrongContent(f"{label} is not a photo: {WHAT_IT_IS[what_it_is(content)]}")
    content_type, extension = found
    return Attachment(
        name=photo_name(name, extension, number),
        content_type=content_type,
        size=len(content),
        content=content,
    )


def _digits(value: str | None) -> str | None:
    return fold(value).strip() or None if value else None


class PublicReport(BaseModel):
    """What a citizen sends through the web form or the app (photos come separately)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    kind: Kind | None = None
    category: str | None = Field(default=None, max_length=80)
    text: str = Field(min_length=1, max_length=4000, description="What the problem is.")
    building: str | None = Field(default=None, max_length=20)
    road: str | None = Field(default=None, max_length=20)
    block: str | None = Field(default=None, max_length=10)
    address: str | None = Field(default=None, max_length=300)
    lat: float | None = Field(default=None, ge=-90, le=90)
    lon: float | None = Field(default=None, ge=-180, le=180)
    name: str | None = Field(default=None, max_length=200)
    phone: str | None = Field(default=None, max_length=40)
    email: str | None = Field(default=None, max_length=320)

    @field_validator(*OPTIONAL_FIELDS, mode="before")
    @classmethod
    def _blank_is_none(cls, value: object) -> object:
        return None if value == "" else value

    @field_validator("building", "road", "block", mode="after")
    @classmethod
    def _numbers(cls, value: str | None) -> str | None:
        return _digits(value)

    @model_validator(mode="after")
    def _checked(self) -> PublicReport:
        if (self.lat is None) != (self.lon is None):
            raise ValueError("give both latitude and longitude, or neither")
        for part, pattern in (("building", _DIGITS_ONLY), ("road", _DIGITS_ONLY)):
            value = getattr(self, part)
            if value is not None and not pattern.match(value):
                raise ValueError(f"{part} must be a number")
        if self.block is not None and not _BLOCK.match(self.block):
            raise ValueError("block must be a number of 3 or 4 digits")
        return self

    def location(self) -> Location | None:
        """The place as given, or None when no part of it was."""
        place = Location(
            lat=self.lat,
            lon=self.lon,
            building=self.building,
            road=self.road,
            block=self.block,
            address=self.address or None,
        )
        return None if place.is_empty() else place


def contact_problem(report: PublicReport, *, region: str, required: bool = True) -> str | None:
    """Why the report's contact details cannot be used (a code of :data:`CONTACT_PROBLEMS`);
    ``required`` False accepts a report with neither (staff log anonymous walk-ins)."""
    if report.phone and normalize_phone(report.phone, region) is None:
        return "phone_invalid"
    if report.email and normalize_email(report.email) is None:
        return "email_invalid"
    if required and not report.phone and not report.email:
        return "contact_needed"
    return None


def contact_of(
    report: PublicReport, *, region: str, required: bool = True
) -> tuple[str | None, str | None]:
    """The report's phone (E.164) and email; :class:`BadPayload` when they cannot be used."""
    problem = contact_problem(report, region=region, required=required)
    if problem is not None:
        raise BadPayload(CONTACT_PROBLEMS[problem])
    phone = normalize_phone(report.phone, region) if report.phone else None
    email = normalize_email(report.email) if report.email else None
    return phone, email


def report_inbound(
    report: PublicReport,
    *,
    channel: str,
    account: str,
    external_id: str | None,
    received_at: datetime,
    region: str,
    photos: list[Attachment] | None = None,
    metadata: dict[str, object] | None = None,
) -> Inbound:
    """The message the intake saves for a public report (raw: the report's own fields)."""
    phone, email = contact_of(report, region=region)
    handle = phone or email
    assert handle is not None
    return Inbound(
        channel=channel,
        account=account,
        external_id=external_id or uuid.uuid4().hex,
        received_at=received_at,
        sender=Sender(handle=handle, name=report.name or None, phone=phone, email=email),
        text=report.text,
        kind=report.kind,
        category=report.category,
        location=report.location(),
        attachments=photos or [],
        metadata=dict(metadata or {}),
    )
