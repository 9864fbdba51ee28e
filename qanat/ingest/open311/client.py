"""Talking GeoReport v2 to one system over HTTP: list requests page by page, post a
status update, post a new request. The system's refusals become qanat's errors here.

A network failure, a timeout or a 5xx is :class:`~qanat.errors.ChannelUnavailable` (try
again later); a 4xx is :class:`~qanat.errors.BadPayload` (refused: trying again cannot
help), except 429, which is a passing refusal.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import httpx

from qanat.errors import BadPayload, ChannelUnavailable
from qanat.ingest.open311.account import Open311Account


@dataclass(frozen=True)
class StatusUpdate:
    """A status update for one upstream request (``status`` None: a comment only)."""

    service_request_id: str
    update_id: str
    description: str
    status: str | None
    updated_at: datetime


@dataclass(frozen=True)
class NewRequest:
    """A service request to post to another body (forwarding)."""

    service_code: str
    description: str
    lat: float | None = None
    lon: float | None = None
    address: str | None = None
    email: str | None = None
    phone: str | None = None
    first_name: str | None = None
    last_name: str | None = None


def _w3(moment: datetime) -> str:
    return moment.isoformat(timespec="seconds")


def _problem(response: httpx.Response) -> str:
    """The description the system gave with an error (the spec's error list), or the status."""
    try:
        body = response.json()
        first = body[0] if isinstance(body, list) and body else body
        description = first.get("description") if isinstance(first, dict) else None
    except ValueError:
        description = None
    return f"HTTP {response.status_code}" + (f": {str(description)[:300]}" if description else "")


class GeoReportClient:
    """One Open311 system, through the runtime's HTTP client."""

    def __init__(self, config: Open311Account, http: httpx.AsyncClient) -> None:
        self.config = config
        self.http = http

    def _common(self) -> dict[str, str]:
        given = {"jurisdiction_id": self.config.jurisdiction_id}
        return {key: value for key, value in given.items() if value}

    async def _call(self, method: str, url: str, **kwargs: Any) -> Any:
        where = f"{self.config.account} ({method} {url.rsplit('/', 1)[-1].split('?')[0]})"
        try:
            response = await self.http.request(method, url, **kwargs)
        except httpx.HTTPError as exc:
            raise ChannelUnavailable(f"Open311 {where}: {type(exc).__name__}") from exc
        if response.status_code == 429 or response.status_code >= 500:
            raise ChannelUnavailable(f"Open311 {where}: {_problem(response)}")
        if response.status_code >= 400:
            raise BadPayload(f"Open311 {where} refused: {_problem(response)}")
        try:
            return response.json()
        except ValueError as exc:
            raise ChannelUnavailable(f"Open311 {where}: the answer is not JSON") from exc

    async def requests_page(self, page: int, **params: str) -> list[Any]:
        """One page of ``GET requests.json`` (with ``extensions=true``)."""
        query = {
            **self._common(),
            **params,
            "extensions": "true",
            "page": str(page),
            "page_size": str(self.config.page_size),
        }
        answer = await self._call("GET", f"{self.config.endpoint}/requests.json", params=query)
        if not isinstance(answer, list):
            raise ChannelUnavailable(f"Open311 {self.config.account}: the listing is not a list")
        return answer

    async def all_requests(self, **params: str) -> list[Any]:
        """Every page of a listing; more than ``max_pages`` is an error, so a watermark is
        never moved over requests that were not read."""
        found: list[Any] = []
        for page in range(1, self.config.max_pages + 1):
            items = await self.requests_page(page, **params)
            found += items
            if len(items) < self.config.page_size:
                return found
        raise ChannelUnavailable(
            f"Open311 {self.config.account}: more than {self.config.max_pages} pages; "
            "raise max_pages"
        )

    async def post_update(self, update: StatusUpdate) -> str:
        """Post a status update; the system's id for it (or ours, when it gives none)."""
        style = self.config.updates
        if style.style == "none":
            raise BadPayload(f"Open311 {self.config.account}: status updates are not sent")
        fields = {
            **self._common(),
            "service_request_id": update.service_request_id,
            "update_id": update.update_id,
            "updated_datetime": _w3(update.updated_at),
            "description": update.description,
        }
        if update.status is not None:
            fields["status"] = update.status.upper()
        if key := self.config.key():
            fields["api_key"] = key
        url = f"{self.config.endpoint}/servicerequestupdates.json"
        if style.style == "post" and style.url:
            url = style.url.replace("{service_request_id}", update.service_request_id)
        answer = await self._call("POST", url, data=fields)
        first = answer[0] if isinstance(answer, list) and answer else answer
        remote = first.get("update_id") if isinstance(first, dict) else None
        return str(remote or update.update_id)

    async def post_request(self, request: NewRequest) -> tuple[str | None, str | None]:
        """Post a new service request; its ``service_request_id`` (or the ``token`` the
        system gives while it has not made one yet)."""
        given = {
            "service_code": request.service_code,
            "description": request.description[:4000],
            "lat": None if request.lat is None else str(request.lat),
            "long": None if request.lon is None else str(request.lon),
            "address_string": request.address,
            "email": request.email,
            "phone": request.phone,
            "first_name": request.first_name,
            "last_name": request.last_name,
            "api_key": self.config.key(),
        }
        fields = {**self._common(), **{k: v for k, v in given.items() if v}}
        answer = await self._call("POST", f"{self.config.endpoint}/requests.json", data=fields)
        first = answer[0] if isinstance(answer, list) and answer else answer
        if not isinstance(first, dict):
            raise ChannelUnavailable(f"Open311 {self.config.account}: no request in the answer")
        made, token = first.get("service_request_id"), first.get("token")
        return (str(made) if made else None, str(token) if token else None)
