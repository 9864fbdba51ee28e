"""Open311 GeoReport v2 at ``/open311/v2``: services, service requests, tokens, discovery.

- Services are the routing rules' categories, grouped (``group``) by department.
- A service request is a ticket: ``service_request_id`` is its reference,
  ``service_code`` its category, ``agency_responsible`` its department's name.
  ``extensions=true`` adds ``extended_attributes``: channel, kind and ``duplicate_of``
  (the primary ticket's reference when the request repeats another).
- ``POST requests`` needs an ``api_key`` (``qanat open311 key add NAME``) and goes
  through the intake as channel ``open311`` (account: the client's name), with
  ``category`` = ``service_code``; the answer has the reference, or a ``token`` while a
  worker has not processed it yet (``GET tokens/{token}`` then gives the reference).
- Reading needs no key and never shows a name, phone or email.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from starlette.datastructures import FormData
from starlette.exceptions import HTTPException

from qanat.errors import ChannelUnavailable, TooLarge, TooManyRequests
from qanat.jobs.queue import InlineQueue
from qanat.model import Inbound, Location, Sender
from qanat.normalize.identity import normalize_email, normalize_phone
from qanat.normalize.thread import ticket_references
from qanat.router.rules import RoutingRules
from qanat.store import open311
from qanat.store.tables import Open311Key, utcnow
from qanat.web.deps import RuntimeDep
from qanat.web.limits import Limit, enforce, read_limited
from qanat.web.open311_format import FORMATS, error, render, service_request, w3
from qanat.web.public_intake import save_report

router = APIRouter(prefix="/open311", tags=["Open311"])

#: A POST is a small form (the spec: a description of at most 4,000 characters).
POST_MAX = 64 * 1024
#: The longest span one listing may cover (the spec's 90 days).
MAX_SPAN = timedelta(days=90)
SPEC = "http://wiki.open311.org/GeoReport_v2"


class Open311Error(Exception):
    """A request the spec answers with an error: the status code and what to tell the user."""

    def __init__(self, status: int, description: str) -> None:
        super().__init__(description)
        self.status = status
        self.description = description


async def _answer(fmt: str, produce: Callable[[], Awaitable[Response]]) -> Response:
    """Run ``produce`` and turn what goes wrong into the spec's error answer."""
    if fmt not in FORMATS:
        return error("xml", 404, f"unknown format {fmt!r}: use .xml or .json")
    try:
        return await produce()
    except Open311Error as exc:
        return error(fmt, exc.status, exc.description)
    except TooManyRequests as exc:
        return error(fmt, 429, str(exc), {"Retry-After": str(exc.retry_after)})
    except ChannelUnavailable as exc:
        return error(fmt, 503, str(exc))


def services_of(rules: RoutingRules, *, realtime: bool) -> list[dict[str, Any]]:
    """Every category of the rules as a GeoReport service, grouped by its department."""
    return [
        {
            "service_code": category.code,
            "service_name": category.name_en,
            "description": f"{category.name_en} — {category.name_ar}",
            "metadata": False,
            "type": "realtime" if realtime else "batch",
            "keywords": ", ".join(
                word for k in department.keywords if k.category == category.code for word in k.words
            ),
            "group": department.name_en,
        }
        for department in rules.departments
        for category in department.categories
    ]


def _service_names(rules: RoutingRules) -> dict[str, str]:
    return {c.code: c.name_en for d in rules.departments for c in d.categories}


@router.get("/discovery.{fmt}")
async def discovery(request: Request, fmt: str) -> Response:
    """Service discovery: where the GeoReport v2 endpoint is and which formats it speaks."""

    async def produce() -> Response:
        endpoint = {
            "specification": SPEC,
            "url": str(request.base_url).rstrip("/") + "/open311/v2",
            "changeset": "2026-11-24T00:00:00Z",
            "type": "production",
            "formats": ["text/xml", "application/json"],
        }
        value = {"changeset": "2026-11-24T00:00:00Z", "contact": "", "endpoints": [endpoint]}
        return render(fmt, "discovery", value)

    return await _answer(fmt, produce)


@router.get("/v2/services.{fmt}")
async def list_services(runtime: RuntimeDep, fmt: str) -> Response:
    """GET Service List: the categories staff route by."""

    async def produce() -> Response:
        realtime = isinstance(runtime.queue, InlineQueue)
        return render(fmt, "services", services_of(runtime.rules(), realtime=realtime))

    return await _answer(fmt, produce)


@router.get("/v2/services/{code}.{fmt}")
async def service_definition(runtime: RuntimeDep, code: str, fmt: str) -> Response:
    """GET Service Definition: no service asks for extra attributes."""

    async def produce() -> Response:
        if code not in _service_names(runtime.rules()):
            raise Open311Error(404, f"service_code {code!r} was not found")
        return render(fmt, "service_definition", {"service_code": code, "attributes": []})

    return await _answer(fmt, produce)


def _text(form: FormData, name: str, *, limit: int = 300) -> str | None:
    value = form.get(name)
    if not isinstance(value, str) or not value.strip():
        return None
    if len(value) > limit:
        raise Open311Error(400, f"{name} is longer than {limit} characters")
    return value.strip()


def _location(form: FormData) -> Location:
    lat, lon = _text(form, "lat", limit=40), _text(form, "long", limit=40)
    address, address_id = _text(form, "address_string"), _text(form, "address_id")
    if lat is not None and lon is not None:
        try:
            return Location(lat=float(lat), lon=float(lon), address=address)
        except ValueError as exc:
            raise Open311Error(400, "lat and long must be WGS84 degrees") from exc
    if address is None and address_id is None:
        raise Open311Error(
            400, "a location is required: lat and long, address_string or address_id"
        )
    return Location(address=address or f"address id {address_id}")


def request_inbound(form: FormData, *, client: Open311Key, service_codes: set[str]) -> Inbound:
    """The message a POSTed service request becomes; :class:`Open311Error` says what is wrong."""
    code = _text(form, "service_code", limit=80)
    if code is None:
        raise Open311Error(400, "service_code was not provided")
    if code not in service_codes:
        raise Open311Error(404, f"service_code {code!r} was not found")
    location = _location(form)
    media_url = _text(form, "media_url", limit=2000)
    if media_url is not None and not media_url.startswith(("https://", "http://")):
        raise Open311Error(400, "media_url must be an http or https address")
    email, phone, device = _text(form, "email"), _text(form, "phone"), _text(form, "device_id")
    name = " ".join(p for p in (_text(form, "first_name"), _text(form, "last_name")) if p)
    attributes = {k: str(v) for k, v in form.multi_items() if k.startswith("attribute[")}
    metadata = {
        "device_id": device,
        "account_id": _text(form, "account_id"),
        "address_id": _text(form, "address_id"),
        "address_string": location.address,
        "media_url": media_url,
        "attributes": attributes,
    }
    return Inbound(
        channel="open311",
        account=client.name,
        external_id=uuid.uuid4().hex,
        received_at=utcnow(),
        sender=Sender(
            handle=email or phone or (f"device:{device}" if device else f"open311:{client.name}"),
            name=name or None,
            email=email,
            phone=phone,
        ),
        text=_text(form, "description", limit=4000) or "",
        category=code,
        location=location,
        metadata={k: v for k, v in metadata.items() if v},
    )


async def _client(runtime: RuntimeDep, form: FormData) -> Open311Key:
    secret = form.get("api_key")
    if not isinstance(secret, str) or not secret:
        raise Open311Error(403, "api_key is missing: ask the body for one")
    async with runtime.db.writing() as session:
        client = await open311.client_of(session, secret=secret, now=utcnow())
    if client is None:
        raise Open311Error(403, "api_key is not valid (or was revoked)")
    return client


def _contact_key(inbound: Inbound, region: str) -> str | None:
    """The phone (E.164) or email the contact limit counts, as the form and the app do."""
    phone = normalize_phone(inbound.sender.phone, region) if inbound.sender.phone else None
    return phone or (normalize_email(inbound.sender.email) if inbound.sender.email else None)


async def _notice(runtime: RuntimeDep, reference: str) -> str:
    async with runtime.db.session() as session:
        rows = await open311.service_requests(session, open311.RequestQuery([reference]))
    if not rows or rows[0].department_en is None:
        return "Received."
    due = w3(rows[0].ticket.sla_due_at, runtime.settings.tz)
    return f"{rows[0].department_en} will handle this request" + (
        f"; expected by {due}." if due else "."
    )


@router.post("/v2/requests.{fmt}", status_code=201)
async def post_request(request: Request, runtime: RuntimeDep, fmt: str) -> Response:
    """POST Service Request: form-encoded, with ``api_key``, ``service_code`` and a location."""

    async def produce() -> Response:
        try:
            form = await (await read_limited(request, POST_MAX)).form(max_files=0)
        except (TooLarge, HTTPException) as exc:
            raise Open311Error(400, f"the request could not be read: {exc}") from exc
        client = await _client(runtime, form)
        limit = Limit("open311-key", runtime.settings.open311_requests_per_key)
        await enforce(runtime, limit, client.name)
        codes = set(_service_names(runtime.rules()))
        inbound = request_inbound(form, client=client, service_codes=codes)
        per_contact = Limit("contact", runtime.settings.public_reports_per_contact)
        await enforce(runtime, per_contact, _contact_key(inbound, runtime.settings.default_region))
        saved = await save_report(runtime, inbound)
        if saved.reference is None:
            answer: dict[str, Any] = {"token": saved.receipt, "service_notice": "Received."}
        else:
            notice = await _notice(runtime, saved.reference)
            answer = {"service_request_id": saved.reference, "service_notice": notice}
        return render(fmt, "service_requests", [answer | {"account_id": None}], status_code=201)

    return await _answer(fmt, produce)


def _list(value: str | None) -> list[str]:
    return [part.strip() for part in (value or "").split(",") if part.strip()]


#: Dates outside these years name no service request (and would overflow date arithmetic).
FIRST_YEAR, LAST_YEAR = 1970, 9000


def _when(value: str | None, name: str) -> datetime | None:
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        moment = None
    if moment is None or moment.tzinfo is None:
        raise Open311Error(
            400, f"{name} must be a W3C date and time with its offset, like 2026-11-01T00:00:00Z"
        )
    if not FIRST_YEAR <= moment.year <= LAST_YEAR:  # the 90-day arithmetic stays in range
        raise Open311Error(400, f"{name} must be between {FIRST_YEAR} and {LAST_YEAR}")
    return moment


def _page(params: dict[str, str]) -> tuple[int, int]:
    """Chicago's paging extension: ``page`` (from 1) and ``page_size`` (at most 1000)."""
    try:
        page = int(params.get("page") or 1)
        size = int(params.get("page_size") or open311.MAX_REQUESTS)
    except ValueError as exc:
        raise Open311Error(400, "page and page_size must be whole numbers") from exc
    if page < 1 or not 1 <= size <= open311.MAX_REQUESTS:
        raise Open311Error(400, f"page starts at 1; page_size is 1 to {open311.MAX_REQUESTS}")
    return (page - 1) * size, size


def _statuses(params: dict[str, str]) -> list[str]:
    statuses = _list(params.get("status"))
    if any(s not in ("open", "closed") for s in statuses):
        raise Open311Error(400, "status must be open, closed, or both (comma separated)")
    return statuses


def request_query(params: dict[str, str], *, now: datetime) -> open311.RequestQuery:
    """The listing GET requests asks for (ids override everything else; 90 days at most).

    ``updated_after`` / ``updated_before`` (Chicago's extension, for clients that follow
    changes) replace the default 90-day window of ``requested_datetime``.
    """
    ids = _list(params.get("service_request_id"))
    offset, size = _page(params)
    if ids:
        references = [(ticket_references(i) or [i.upper()])[0] for i in ids]
        return open311.RequestQuery(references=references, offset=offset, limit=size)
    start, end = (
        _when(params.get("start_date"), "start_date"),
        _when(params.get("end_date"), "end_date"),
    )
    after = _when(params.get("updated_after"), "updated_after")
    before = _when(params.get("updated_before"), "updated_before")
    statuses = _statuses(params)
    codes = _list(params.get("service_code"))
    if (after or before) and start is None and end is None:
        return open311.RequestQuery(
            service_codes=codes, statuses=statuses, updated_after=after, updated_before=before,
            offset=offset, limit=size,
        )  # fmt: skip
    if start is None:
        start = (end or now) - MAX_SPAN
    end = end or min(now, start + MAX_SPAN)
    if end - start > MAX_SPAN:
        raise Open311Error(400, "start_date and end_date may not span more than 90 days")
    return open311.RequestQuery(
        service_codes=codes, start=start, end=end, statuses=statuses, updated_after=after,
        updated_before=before, offset=offset, limit=size,
    )  # fmt: skip


async def _requests(
    runtime: RuntimeDep, query: open311.RequestQuery, *, extensions: bool
) -> list[dict[str, Any]]:
    async with runtime.db.session() as session:
        rows = await open311.service_requests(session, query)
    names = _service_names(runtime.rules())
    return [
        service_request(
            row,
            service_name=names.get(row.ticket.category or ""),
            tz=runtime.settings.tz,
            extensions=extensions,
        )
        for row in rows
    ]


@router.get("/v2/requests.{fmt}")
async def list_requests(request: Request, runtime: RuntimeDep, fmt: str) -> Response:
    """GET Service Requests: by ids, or by service code, dates (90 days at most) and status."""

    async def produce() -> Response:
        params = dict(request.query_params)
        query = request_query(params, now=utcnow())
        extensions = params.get("extensions") == "true"
        return render(
            fmt, "service_requests", await _requests(runtime, query, extensions=extensions)
        )

    return await _answer(fmt, produce)


@router.get("/v2/requests/{service_request_id}.{fmt}")
async def get_request(
    request: Request, runtime: RuntimeDep, service_request_id: str, fmt: str
) -> Response:
    """GET Service Request: one request by its id (the ticket's reference)."""

    async def produce() -> Response:
        query = request_query({"service_request_id": service_request_id}, now=utcnow())
        extensions = request.query_params.get("extensions") == "true"
        found = await _requests(runtime, query, extensions=extensions)
        if not found:
            raise Open311Error(404, f"service_request_id {service_request_id!r} was not found")
        return render(fmt, "service_requests", found)

    return await _answer(fmt, produce)


@router.get("/v2/tokens/{token}.{fmt}")
async def get_token(runtime: RuntimeDep, token: str, fmt: str) -> Response:
    """GET service_request_id from a token (null until a worker has processed the request)."""

    async def produce() -> Response:
        async with runtime.db.session() as session:
            known, reference = await open311.reference_of_token(session, token=token)
        if not known:
            raise Open311Error(404, f"token {token!r} was not found")
        return render(fmt, "service_requests", [{"service_request_id": reference, "token": token}])

    return await _answer(fmt, produce)
