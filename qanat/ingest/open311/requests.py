"""GeoReport v2 service requests as qanat reads them: pure functions, no I/O.

A service request becomes an :class:`~qanat.model.Inbound` on channel ``open311``, its
external id the upstream's ``service_request_id``, its raw bytes the request's own JSON.
Listings carry no name, phone or email (the spec keeps them private), so the sender is
the upstream request itself.
"""

from __future__ import annotations

import hashlib
import json
import re
from datetime import UTC, datetime
from typing import Any

from qanat.model import Inbound, Location, Sender, TicketStatus

CHANNEL = "open311"
#: Bahraini blocks are the postal codes: a zipcode of 3–4 digits is the block.
_BLOCK = re.compile(r"^\d{3,4}$")
#: Fields kept on the message as the upstream gave them.
KEPT = (
    "service_request_id",
    "service_code",
    "service_name",
    "status",
    "status_notes",
    "agency_responsible",
    "service_notice",
    "requested_datetime",
    "updated_datetime",
    "expected_datetime",
    "address",
    "address_id",
    "zipcode",
    "media_url",
    "extended_attributes",
)


def w3_time(value: Any) -> datetime | None:
    """A W3C date and time (``2026-11-02T08:30:00+03:00``, ``…Z``), or None when absent."""
    if not value:
        return None
    moment = datetime.fromisoformat(str(value).strip().replace("Z", "+00:00"))
    if moment.tzinfo is None:
        raise ValueError(f"time {value!r} has no offset")
    return moment.astimezone(UTC)


def request_id(item: dict[str, Any]) -> str | None:
    """The request's id; None while the upstream has not given it one yet (Chicago's
    listing shows such requests: they are picked up once they have an id)."""
    value = item.get("service_request_id")
    return str(value).strip() or None if value is not None else None


def updated_stamp(item: dict[str, Any]) -> datetime | None:
    """When the request last changed upstream (its update time, else when it was made)."""
    return w3_time(item.get("updated_datetime")) or w3_time(item.get("requested_datetime"))


def _float(value: Any) -> float | None:
    try:
        return float(value) if value not in (None, "") else None
    except (TypeError, ValueError):
        return None


def _location(item: dict[str, Any]) -> Location | None:
    zipcode = str(item.get("zipcode") or "").strip()
    location = Location(
        lat=_float(item.get("lat")),
        lon=_float(item.get("long")),
        block=zipcode if _BLOCK.match(zipcode) else None,
        address=str(item["address"]) if item.get("address") else None,
    )
    if location.lat is None or location.lon is None:
        location = location.model_copy(update={"lat": None, "lon": None})
    return None if location.is_empty() else location


def request_inbound(item: dict[str, Any], *, account: str, fallback_time: datetime) -> Inbound:
    """The message one upstream service request becomes.

    Raises ``ValueError`` (or ``KeyError``) for a request that cannot be read: the caller
    keeps it as a dead letter.
    """
    external_id = request_id(item)
    if external_id is None:
        raise ValueError("the request has no service_request_id")
    closed = str(item.get("status") or "").lower() == "closed"
    text = str(item.get("description") or item.get("service_name") or "").strip()
    return Inbound(
        channel=CHANNEL,
        account=account,
        external_id=external_id,
        received_at=w3_time(item.get("requested_datetime")) or fallback_time,
        sender=Sender(handle=f"{account}:{external_id}"),
        text=text,
        category=str(item["service_code"]) if item.get("service_code") else None,
        location=_location(item),
        status=TicketStatus.resolved if closed else None,
        metadata={"upstream": account} | {k: item[k] for k in KEPT if item.get(k) is not None},
        raw=json.dumps(item, ensure_ascii=False, sort_keys=True).encode(),
    )


def dead_request(item: Any, *, account: str, now: datetime) -> Inbound:
    """A request that could not be read, kept as it came (for the dead-letter queue)."""
    raw = json.dumps(item, ensure_ascii=False, sort_keys=True, default=str).encode()
    known = request_id(item) if isinstance(item, dict) else None
    return Inbound(
        channel=CHANNEL,
        account=account,
        # The same unreadable item read again is the same dead letter.
        external_id=known or f"unreadable:{hashlib.sha256(raw).hexdigest()[:20]}",
        received_at=now,
        sender=Sender(handle=f"{account}:unreadable"),
        raw=raw,
    )
