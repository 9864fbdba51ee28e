"""The public pages: the complaint form and the status page, Arabic (right to left) first.

Anyone may use them, so they are guarded their own way: a signed double-submit CSRF
token (a random cookie, and its HMAC under ``QANAT_SECRET_KEY`` in the form), limits
per address and per phone or email, a body limit enforced while reading (413 before
any parsing), and photos judged by their bytes (422 for a "photo" that is a program).
The report is saved through the intake as channel ``web``, like any channel's message.
"""

from __future__ import annotations

import hashlib
import hmac
import math
import re
import secrets
from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError
from starlette.datastructures import FormData, UploadFile
from starlette.exceptions import HTTPException

from qanat.config import Settings
from qanat.errors import TooLarge, TooManyRequests, WrongContent
from qanat.ingest.webform import (
    WEB_ACCOUNT,
    PublicReport,
    check_photo,
    contact_problem,
    report_inbound,
    what_it_is,
)
from qanat.model import Attachment, Kind
from qanat.normalize.text import fold
from qanat.store.tables import utcnow
from qanat.web import i18n
from qanat.web.auth import client_ip, cookies_secure
from qanat.web.deps import RuntimeDep
from qanat.web.limits import Limit, enforce, read_limited
from qanat.web.public_intake import STATUS_BY_REFERENCE, lookup_status, save_report
from qanat.web.templating import LANGUAGE_COOKIE, language_for, page

router = APIRouter(include_in_schema=False)

#: The visitor's random value; the form carries its HMAC (signed double-submit).
PUBLIC_COOKIE = "qanat_public"
#: Room for the text fields around the photos in one upload.
FORM_SLACK = 256 * 1024
#: A status lookup is a small form.
STATUS_FORM_MAX = 16 * 1024
#: The form's text fields, as :class:`PublicReport` names them.
FIELDS = tuple(name for name in PublicReport.model_fields)
_TOKEN = re.compile(r"^[A-Za-z0-9_-]{16,100}$")


def form_token(settings: Settings, nonce: str) -> str:
    """The CSRF token for a visitor's cookie value: its HMAC under the secret key."""
    key = settings.secret_key.encode()
    return hmac.new(key, b"public-form:" + nonce.encode(), hashlib.sha256).hexdigest()


def submission_id(settings: Settings, nonce: str, form_id: str) -> str:
    """The report's external id: the same form sent twice (a double click, a reload) is
    one report, and nobody without the visitor's cookie can name it."""
    key = settings.secret_key.encode()
    message = f"submission:{nonce}:{form_id}".encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()[:32]


def _nonce(request: Request) -> tuple[str, bool]:
    current = request.cookies.get(PUBLIC_COOKIE, "")
    if _TOKEN.match(current):
        return current, False
    return secrets.token_urlsafe(32), True


def _translator(request: Request) -> Callable[..., str]:
    return i18n.translator(language_for(request, None))


def _categories(runtime: RuntimeDep, language: str) -> list[dict[str, Any]]:
    return [
        {
            "name": d.name_ar if language == "ar" else d.name_en,
            "categories": [
                (c.code, c.name_ar if language == "ar" else c.name_en) for c in d.categories
            ],
        }
        for d in runtime.rules().departments
        if d.categories
    ]


def _render(
    request: Request,
    runtime: RuntimeDep,
    template: str,
    *,
    status_code: int = 200,
    headers: dict[str, str] | None = None,
    **context: Any,
) -> Response:
    """A public page with the visitor's CSRF token (and their cookie when new)."""
    nonce, fresh = _nonce(request)
    settings = runtime.settings
    response = page(
        request,
        template,
        viewer=None,
        status_code=status_code,
        public_csrf=form_token(settings, nonce),
        form_id=secrets.token_urlsafe(18),
        categories=_categories(runtime, language_for(request, None)),
        kinds=[k.value for k in Kind],
        photo_count=settings.photos_per_report,
        photo_megabytes=max(1, settings.photo_max_bytes // (1024 * 1024)),
        **context,
    )
    for name, value in (headers or {}).items():
        response.headers[name] = value
    if fresh:
        secure = cookies_secure(request, settings)
        response.set_cookie(
            PUBLIC_COOKIE, nonce, httponly=True, samesite="strict", secure=secure, path="/report"
        )
    if lang := request.query_params.get("lang"):
        response.set_cookie(LANGUAGE_COOKIE, i18n.language_of(lang), samesite="lax", path="/")
    return response


def _csrf_ok(request: Request, settings: Settings, form: FormData) -> bool:
    nonce = request.cookies.get(PUBLIC_COOKIE, "")
    sent = form.get("csrf_token")
    if not _TOKEN.match(nonce) or not isinstance(sent, str):
        return False
    return hmac.compare_digest(sent, form_token(settings, nonce))


def _refused(
    request: Request, runtime: RuntimeDep, values: dict[str, str], error: str, status: int
) -> Response:
    return _render(
        request, runtime, "public_report.html", values=values, error=error, status_code=status
    )


def _too_many(
    request: Request, runtime: RuntimeDep, exc: TooManyRequests, template: str, **context: Any
) -> Response:
    """The page again, saying when to try again (429 with ``Retry-After``)."""
    minutes = max(1, math.ceil(exc.retry_after / 60))
    error = _translator(request)("too_many", minutes=minutes)
    headers = {"Retry-After": str(exc.retry_after)}
    return _render(
        request, runtime, template, error=error, status_code=429, headers=headers, **context
    )


@router.get("/report")
async def report_form(request: Request, runtime: RuntimeDep) -> Response:
    """The complaint form: kind, description, place, photos, contact details."""
    return _render(request, runtime, "public_report.html", values={}, error=None)


async def _photos(
    form: FormData, settings: Settings, t: Callable[..., str]
) -> tuple[list[Attachment], str | None, int]:
    """The photos sent, checked by their bytes; or the reason and status of the refusal."""
    photos: list[Attachment] = []
    megabytes = max(1, settings.photo_max_bytes // (1024 * 1024))
    uploads = [f for f in form.getlist("photos") if isinstance(f, UploadFile) and f.filename]
    for number, upload in enumerate(uploads, start=1):
        content = await upload.read(settings.photo_max_bytes + 1)
        name = upload.filename or f"photo-{number}"
        try:
            photos.append(
                check_photo(name, content, max_bytes=settings.photo_max_bytes, number=number)
            )
        except TooLarge:
            return [], t("photo_too_large", name=name, megabytes=megabytes), 413
        except WrongContent:
            what = t("what_" + what_it_is(content))
            return [], t("photo_not_photo", name=name, what=what), 422
    return photos, None, 200


@router.post("/report")
async def report_submit(request: Request, runtime: RuntimeDep) -> Response:
    """Check and save the report; answer with its reference number."""
    settings, t = runtime.settings, _translator(request)
    limit = settings.photos_per_report * settings.photo_max_bytes + FORM_SLACK
    try:
        form = await (await read_limited(request, limit)).form(
            max_files=max(1, settings.photos_per_report), max_fields=40
        )
    except TooLarge:
        error = t("upload_too_large", megabytes=limit // (1024 * 1024))
        return _refused(request, runtime, {}, error, 413)
    except HTTPException as exc:
        return _refused(request, runtime, {}, t("form_problem", reason=exc.detail), 400)
    try:
        return await _check_and_save(request, runtime, form)
    finally:
        await form.close()  # the uploads' temporary files


async def _check_and_save(request: Request, runtime: RuntimeDep, form: FormData) -> Response:
    settings, t = runtime.settings, _translator(request)
    values = {k: v for k in FIELDS if isinstance(v := form.get(k, ""), str)}
    if not _csrf_ok(request, settings, form):
        return _refused(request, runtime, values, t("login_expired"), 403)
    try:
        await enforce(runtime, Limit("web-ip", settings.public_reports_per_ip), client_ip(request))
    except TooManyRequests as exc:
        return _too_many(request, runtime, exc, "public_report.html", values=values)
    try:
        report = PublicReport.model_validate(values)
    except ValidationError as exc:
        reason = "; ".join(str(e["msg"]).removeprefix("Value error, ") for e in exc.errors())
        return _refused(request, runtime, values, t("form_problem", reason=reason), 400)
    problem = contact_problem(report, region=settings.default_region)
    if problem is not None:
        return _refused(request, runtime, values, t(problem), 400)
    photos, refusal, status = await _photos(form, settings, t)
    if refusal is not None:
        return _refused(request, runtime, values, refusal, status)
    return await _save(request, runtime, report, photos, form, values)


async def _save(
    request: Request,
    runtime: RuntimeDep,
    report: PublicReport,
    photos: list[Attachment],
    form: FormData,
    values: dict[str, str],
) -> Response:
    settings = runtime.settings
    form_id = form.get("form_id")
    external_id = None
    if isinstance(form_id, str) and _TOKEN.match(form_id):
        nonce = request.cookies.get(PUBLIC_COOKIE, "")
        external_id = submission_id(settings, nonce, form_id)
    inbound = report_inbound(
        report,
        channel="web",
        account=WEB_ACCOUNT,
        external_id=external_id,
        received_at=utcnow(),
        region=settings.default_region,
        photos=photos,
    )
    try:
        per_contact = Limit("contact", settings.public_reports_per_contact)
        await enforce(runtime, per_contact, inbound.sender.handle)
    except TooManyRequests as exc:
        return _too_many(request, runtime, exc, "public_report.html", values=values)
    saved = await save_report(runtime, inbound)
    return _render(
        request, runtime, "public_done.html", reference=saved.reference, receipt=saved.receipt
    )


@router.get("/report/status")
async def status_form(request: Request, runtime: RuntimeDep) -> Response:
    """Ask for a report's status: its reference (or receipt) and the phone or email given."""
    reference = request.query_params.get("reference", "")[:60]
    return _render(
        request, runtime, "public_status.html", reference=reference, found=None, error=None
    )


@router.post("/report/status")
async def status_lookup(request: Request, runtime: RuntimeDep) -> Response:
    """The status of the visitor's own report; one answer for every kind of wrong."""
    t = _translator(request)
    try:
        form = await (await read_limited(request, STATUS_FORM_MAX)).form(max_files=0)
    except (TooLarge, HTTPException):
        return RedirectResponse("/report/status", status_code=303)
    reference = str(form.get("reference", ""))[:60]
    contact = str(form.get("contact", ""))[:320]
    context: dict[str, Any] = {"reference": reference, "found": None}
    if not _csrf_ok(request, runtime.settings, form):
        return _render(
            request,
            runtime,
            "public_status.html",
            error=t("login_expired"),
            status_code=403,
            **context,
        )
    try:
        per_ip = Limit("status-ip", runtime.settings.status_lookups_per_ip)
        await enforce(runtime, per_ip, client_ip(request))
        await enforce(runtime, STATUS_BY_REFERENCE, fold(reference).strip())
    except TooManyRequests as exc:
        return _too_many(request, runtime, exc, "public_status.html", **context)
    found = await lookup_status(runtime, typed_reference=reference, typed_contact=contact)
    if found is None:
        error = t("status_not_found")
        return _render(
            request, runtime, "public_status.html", error=error, status_code=404, **context
        )
    context["found"] = found
    return _render(request, runtime, "public_status.html", error=None, **context)
