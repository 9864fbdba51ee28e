"""A GeoReport v2 server in memory for the Open311 client's tests, speaking through
``httpx.MockTransport``: listings filtered and paged as Chicago documents them, status
updates kept once per ``update_id`` (the FixMyStreet extension), new requests numbered.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import httpx

FIXTURES = Path(__file__).parent.parent / "fixtures" / "open311"


def recorded(name: str) -> Any:
    """A recorded GeoReport answer from ``tests/fixtures/open311``."""
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"))


def _when(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


@dataclass
class FakeGeoReport:
    """The upstream: its requests, the updates posted, the requests posted, and faults."""

    requests: list[dict[str, Any]] = field(default_factory=list)
    updates: dict[str, dict[str, str]] = field(default_factory=dict)
    posted: list[dict[str, str]] = field(default_factory=list)
    listings: list[dict[str, str]] = field(default_factory=list)
    api_key: str = "upstream-key"
    down: bool = False

    def transport(self) -> httpx.MockTransport:
        """The transport the connector's HTTP client is given."""
        return httpx.MockTransport(self.answer)

    def answer(self, request: httpx.Request) -> httpx.Response:
        """One HTTP exchange."""
        if self.down:
            return httpx.Response(503, json=[{"code": 503, "description": "maintenance"}])
        path = request.url.path
        if request.method == "GET" and path.endswith("/requests.json"):
            return httpx.Response(200, json=self.listing(dict(request.url.params)))
        form = {k: v[0] for k, v in parse_qs(request.content.decode()).items()}
        if form.get("api_key") != self.api_key:
            return httpx.Response(403, json=recorded("error_api_key.json"))
        if path.endswith("/servicerequestupdates.json"):
            return self.update(form)
        if path.endswith("/requests.json"):
            self.posted.append(form)
            return httpx.Response(201, json=recorded("post_request_answer.json"))
        return httpx.Response(404, json=[{"code": 404, "description": "not found"}])

    def listing(self, params: dict[str, str]) -> list[dict[str, Any]]:
        """``GET requests.json``: ids, or updated_after / start_date, then one page."""
        self.listings.append(params)
        found = list(self.requests)
        if ids := params.get("service_request_id"):
            wanted = set(ids.split(","))
            found = [r for r in found if str(r.get("service_request_id")) in wanted]
        if after := params.get("updated_after"):
            found = [r for r in found if _when(r["updated_datetime"]) >= _when(after)]
        if start := params.get("start_date"):
            found = [r for r in found if _when(r["requested_datetime"]) >= _when(start)]
        size, page = int(params.get("page_size", 50)), int(params.get("page", 1))
        return found[(page - 1) * size : page * size]

    def update(self, form: dict[str, str]) -> httpx.Response:
        """``POST servicerequestupdates.json``: kept once per update_id."""
        known = self.updates.setdefault(form["update_id"], form)
        number = list(self.updates).index(form["update_id"]) + 1
        assert known is not None
        return httpx.Response(200, json=[{"update_id": f"u{number}"}])


def national_request(
    request_id: str, code: str, text: str, *, at: str, block: str | None = None, **extra: Any
) -> dict[str, Any]:
    """A service request as a national complaints system's listing shows it."""
    return {
        "service_request_id": request_id,
        "status": "open",
        "service_code": code,
        "service_name": code,
        "description": text,
        "agency_responsible": "Ministry of Works",
        "requested_datetime": at,
        "updated_datetime": at,
        "zipcode": block,
        **extra,
    }
