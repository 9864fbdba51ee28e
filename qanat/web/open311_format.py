"""GeoReport v2 answers as the spec writes them: JSON arrays, or XML with a declaration.

XML is the spec's required format (``text/xml``), JSON its mapping of the same tree
(``application/json``). Errors are ``[{"code": 400, "description": "…"}]`` or
``<errors><error><code>400</code><description>…</description></error></errors>``.
A service request never carries the citizen's name, phone or email, and its
description loses any phone number or email written in it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from datetime import datetime
from typing import Any
from xml.etree import ElementTree
from zoneinfo import ZoneInfo

from fastapi.responses import Response

from qanat.store.open311 import RequestRow

FORMATS = ("json", "xml")
JSON_TYPE = "application/json; charset=utf-8"
XML_TYPE = "text/xml; charset=utf-8"
#: Characters XML 1.0 cannot hold at all (a citizen's text may contain them).
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
# A run of 7 or more digits, maybe with +, spaces or dashes inside: a phone number.
# Blocks (3-4 digits), roads and buildings (up to 5) stay.
_PHONE = re.compile(r"\+?\d(?:[\s\-]?\d){6,}")
_ARABIC_DIGITS = str.maketrans({chr(0x0660 + d): str(d) for d in range(10)})
_OPEN_STATUSES = frozenset({"new", "open", "pending"})


def redact(text: str) -> str:
    """``text`` without phone numbers or email addresses (each becomes ``…``)."""
    return _PHONE.sub("…", _EMAIL.sub("…", text.translate(_ARABIC_DIGITS)))


def w3(moment: datetime | None, tz: ZoneInfo) -> str | None:
    """A time in the W3C profile of ISO 8601, with the body's UTC offset."""
    return moment.astimezone(tz).isoformat(timespec="seconds") if moment else None


def _element(tag: str, value: Any) -> ElementTree.Element:
    node = ElementTree.Element(tag)
    if isinstance(value, Mapping):
        for key, child in value.items():
            node.append(_element(key, child))
    elif isinstance(value, list):
        item = tag[:-1] if tag.endswith("s") else "item"  # attributes → attribute
        for child in value:
            node.append(_element(item, child))
    elif isinstance(value, bool):
        node.text = "true" if value else "false"
    elif value is not None:
        node.text = _NOT_XML.sub("", str(value))
    return node


def xml_document(tree: ElementTree.Element) -> bytes:
    """The document: the XML declaration the spec asks for, then the tree."""
    body = ElementTree.tostring(tree, encoding="unicode", short_empty_elements=True)
    return ('<?xml version="1.0" encoding="utf-8"?>\n' + body).encode()


#: Answers that are lists, and the XML name of each item (the others are one element).
ITEMS = {
    "services": "service",
    "service_requests": "request",
    "service_request_updates": "request_update",
    "errors": "error",
}


def render(fmt: str, kind: str, value: Any, *, status_code: int = 200) -> Response:
    """``value`` as JSON, or as the XML document whose root is ``kind``."""
    if fmt == "json":
        body = json.dumps(value, ensure_ascii=False).encode()
        return Response(body, status_code=status_code, media_type=JSON_TYPE)
    if kind in ITEMS:
        tree = ElementTree.Element(kind)
        for entry in value:
            tree.append(_element(ITEMS[kind], entry))
    else:
        tree = _element(kind, value)
    return Response(xml_document(tree), status_code=status_code, media_type=XML_TYPE)


def error(
    fmt: str, status_code: int, description: str, headers: dict[str, str] | None = None
) -> Response:
    """The spec's error answer: a list of one ``{code, description}``."""
    response = render(
        fmt if fmt in FORMATS else "xml",
        "errors",
        [{"code": status_code, "description": description}],
        status_code=status_code,
    )
    response.headers.update(headers or {})
    return response


def address_of(row: RequestRow) -> str | None:
    """The place, most specific first, as the spec asks: building, road, block, area."""
    ticket = row.ticket
    parts = [
        f"Building {ticket.building}" if ticket.building else None,
        f"Road {ticket.road}" if ticket.road else None,
        f"Block {ticket.block}" if ticket.block else None,
        ticket.area,
        ticket.governorate,
    ]
    given = [p for p in parts if p]
    if not given and row.first_channel == "open311":
        address = row.first_metadata.get("address_string")
        return redact(str(address)) if address else None
    return ", ".join(given) or None


def service_request(
    row: RequestRow, *, service_name: str | None, tz: ZoneInfo, extensions: bool
) -> dict[str, Any]:
    """One ticket as a GeoReport v2 service request (no personal data)."""
    ticket = row.ticket
    closed = ticket.status not in _OPEN_STATUSES
    from_open311 = row.first_channel == "open311"
    description = redact(row.first_text or "")[:4000] if from_open311 else None
    fields: dict[str, Any] = {
        "service_request_id": ticket.reference,
        "status": "closed" if closed else "open",
        "status_notes": row.status_notes
        or ("Duplicate request." if row.primary_reference else None),
        "service_name": service_name,
        "service_code": ticket.category,
        "description": description or None,
        "agency_responsible": row.department_en,
        "service_notice": None,
        "requested_datetime": w3(ticket.created_at, tz),
        "updated_datetime": w3(
            ticket.resolved_at if closed and ticket.resolved_at else ticket.updated_at, tz
        ),
        "expected_datetime": None if closed else w3(ticket.sla_due_at, tz),
        "address": address_of(row),
        "address_id": None,
        "zipcode": ticket.block,  # Bahraini block numbers are the postal codes
        "lat": ticket.lat,
        "long": ticket.lon,
        "media_url": row.first_metadata.get("media_url") if from_open311 else None,
    }
    if extensions:
        fields["extended_attributes"] = {
            "channel": ticket.channel,
            "kind": ticket.kind,
            "duplicate_of": row.primary_reference,
        }
    return fields
