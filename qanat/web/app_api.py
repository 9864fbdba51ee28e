"""``/api/app``: the citizens' mobile app — the web form's fields as JSON, with a token.

The app authenticates with an API token that has the ``app`` scope (issued at
``/admin/tokens`` or ``POST /api/tokens``); such a token can send reports and look up
their status, nothing else. Every report carries a ``client_id`` the app makes up
once, so a retry after a dropped connection is the same report (``created: false``).
Photos come base64-encoded and are checked by their bytes, as on the web form.
"""

from __future__ import annotations

import base64
import binascii
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from qanat.errors import BadPayload, NotFound, TooLarge
from qanat.ingest.webform import (
    APP_ACCOUNT,
    CONTACT_PROBLEMS,
    PublicReport,
    check_photo,
    contact_problem,
    report_inbound,
)
from qanat.model import Attachment
from qanat.normalize.text import fold
from qanat.store.public import PublicStatus
from qanat.store.tables import utcnow
from qanat.web import schemas
from qanat.web.auth import AppClient
from qanat.web.deps import RuntimeDep
from qanat.web.limits import Limit, enforce, read_limited
from qanat.web.problems import safe_errors
from qanat.web.public_intake import STATUS_BY_REFERENCE, lookup_status, save_report

router = APIRouter(tags=["citizens' app"])

#: Room for the JSON around the photos.
JSON_SLACK = 256 * 1024


class AppPhoto(BaseModel):
    """A photo, base64-encoded; its type is read from its bytes, whatever its name says."""

    name: str = Field(default="photo", max_length=200)
    content_base64: str


class AppReport(PublicReport):
    """A citizen's report from the app: the web form's fields, a client id, photos."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    client_id: str = Field(min_length=8, max_length=120, pattern=r"^[A-Za-z0-9_.:-]+$")
    photos: list[AppPhoto] = Field(default_factory=list, max_length=10)


class StatusQuery(BaseModel):
    """A report's reference (or receipt) and the phone or email given with it."""

    reference: str = Field(min_length=1, max_length=60)
    contact: str = Field(min_length=1, max_length=320)


def _photos(report: AppReport, *, max_bytes: int, allowed: int) -> list[Attachment]:
    if len(report.photos) > allowed:
        raise BadPayload(f"{len(report.photos)} photos: at most {allowed} per report")
    checked = []
    for number, photo in enumerate(report.photos, start=1):
        if len(photo.content_base64) > (max_bytes + 2) // 3 * 4 + 4:
            raise TooLarge(f"{photo.name}: over the {max_bytes}-byte photo limit")
        try:
            content = base64.b64decode(photo.content_base64, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise BadPayload(f"{photo.name}: content_base64 is not base64") from exc
        checked.append(check_photo(photo.name, content, max_bytes=max_bytes, number=number))
    return checked


def status_public(found: PublicStatus) -> dict[str, Any]:
    """A status as the app shows it (the same fields the status page shows)."""
    return {
        "reference": found.reference,
        "status": found.status,
        "kind": found.kind,
        "category": found.category,
        "department": {"name_en": found.department_en, "name_ar": found.department_ar},
        "created_at": found.created_at.isoformat(),
        "updated_at": found.updated_at.isoformat(),
        "resolved_at": found.resolved_at.isoformat() if found.resolved_at else None,
        "expected_at": found.due_at.isoformat() if found.due_at else None,
        "handled_with_others": found.handled_with_others,
    }


@router.post(
    "/app/reports",
    status_code=201,
    responses={
        201: {"model": schemas.AppReceipt, "description": "a new report"},
        200: {"model": schemas.AppReceipt, "description": "this client_id was sent before"},
    },
    openapi_extra={
        "requestBody": {"content": {"application/json": {"schema": AppReport.model_json_schema()}}}
    },
)
async def post_report(request: Request, runtime: RuntimeDep, viewer: AppClient) -> JSONResponse:
    """Send a citizen's report (JSON: the fields of ``AppReport``); answers its reference.

    201 when new, 200 when ``client_id`` was sent before; 413 for an oversized photo or
    body, 422 for a photo that is not one (or a field that is wrong), 429 over a limit.
    """
    settings = runtime.settings
    encoded_max = (settings.photo_max_bytes + 2) // 3 * 4 + 4
    limit = settings.photos_per_report * encoded_max + JSON_SLACK
    body = await (await read_limited(request, limit)).body()
    try:
        report = AppReport.model_validate_json(body)
    except ValidationError as exc:
        return JSONResponse({"detail": safe_errors(exc.errors())}, 422)
    problem = contact_problem(report, region=settings.default_region)
    if problem is not None:
        raise BadPayload(CONTACT_PROBLEMS[problem])
    photos = _photos(report, max_bytes=settings.photo_max_bytes, allowed=settings.photos_per_report)
    inbound = report_inbound(
        report,
        channel="app",
        account=APP_ACCOUNT,
        external_id=f"{viewer.username}:{report.client_id}",
        received_at=utcnow(),
        region=settings.default_region,
        photos=photos,
    )
    per_contact = Limit("contact", settings.public_reports_per_contact)
    await enforce(runtime, per_contact, inbound.sender.handle)
    saved = await save_report(runtime, inbound)
    answer = {"reference": saved.reference, "receipt": saved.receipt, "created": saved.created}
    return JSONResponse(answer, status_code=201 if saved.created else 200)


@router.post("/app/status", response_model=schemas.AppStatus, response_model_exclude_unset=True)
async def post_status(runtime: RuntimeDep, viewer: AppClient, body: StatusQuery) -> dict[str, Any]:
    """A report's status, for the citizen who sent it: 404 whichever detail is wrong."""
    await enforce(runtime, STATUS_BY_REFERENCE, fold(body.reference).strip())
    found = await lookup_status(runtime, typed_reference=body.reference, typed_contact=body.contact)
    if found is None:
        raise NotFound("no report matches this reference and these details")
    return status_public(found)


@router.get(
    "/app/services", response_model=list[schemas.Service], response_model_exclude_unset=True
)
async def list_services(runtime: RuntimeDep, viewer: AppClient) -> list[dict[str, str]]:
    """What a report can be about (the routing rules' categories), by department."""
    return [
        {
            "code": category.code,
            "name_en": category.name_en,
            "name_ar": category.name_ar,
            "department_en": department.name_en,
            "department_ar": department.name_ar,
        }
        for department in runtime.rules().departments
        for category in department.categories
    ]
