"""The one place errors become HTTP answers: JSON for the API, a page (or the log-in) for people."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from starlette.exceptions import HTTPException

from qanat.errors import (
    BadPayload,
    ChannelUnavailable,
    ForgedRequest,
    NotFound,
    TooLarge,
    TooManyRequests,
    UnsupportedEvent,
    WrongContent,
)
from qanat.store.errors import describe, store_unavailable
from qanat.web import i18n
from qanat.web.auth import find_viewer
from qanat.web.templating import page

log = logging.getLogger(__name__)

#: qanat's errors and their status codes (a subclass before its base: the first match wins).
CODES: dict[type[Exception], int] = {
    UnsupportedEvent: 200,  # acknowledged (and logged) so the source stops retrying
    TooLarge: 413,
    WrongContent: 422,
    BadPayload: 400,
    TooManyRequests: 429,
    ForgedRequest: 403,
    NotFound: 404,
    ChannelUnavailable: 503,
}
#: Paths answered in JSON; everything else is a page for people.
MACHINE_PREFIXES = (
    "/api/",
    "/events/",
    "/healthz",
    "/static/",
    "/openapi.json",
    "/docs",
    "/webhooks/",
    "/metrics",
    "/open311/",
)


def wants_page(request: Request) -> bool:
    """True when the request came from a person's browser page rather than a client."""
    return not request.url.path.startswith(MACHINE_PREFIXES)


def error_page(request: Request, status_code: int, detail: str) -> Response:
    """The error page, in the viewer's language when known."""
    viewer = getattr(request.state, "viewer", None)
    return page(
        request,
        "error.html",
        viewer=viewer,
        status_code=status_code,
        code=status_code,
        detail=detail,
        known_errors=i18n.TEXTS,
    )


async def _known_viewer(request: Request) -> None:
    """Find who is signed in when no route did (an address no page answers), so the error
    page is in their language; a store that cannot say leaves the page in the default."""
    if hasattr(request.state, "viewer"):
        return
    try:
        await find_viewer(request)
    except Exception:  # the error page must show whatever the store does
        log.warning("could not tell who asked for %s", request.url.path, exc_info=True)


def _login_redirect(request: Request) -> Response:
    target = request.url.path if request.method == "GET" else "/inbox"
    if request.url.query and request.method == "GET":
        target += "?" + request.url.query
    return RedirectResponse(f"/login?next={quote(target, safe='')}", status_code=303)


def status_of(exc: Exception) -> int:
    """The HTTP status code of a qanat error (500 for anything unexpected)."""
    return next((c for error, c in CODES.items() if isinstance(exc, error)), 500)


async def qanat_error(request: Request, exc: Exception) -> Response:
    """A qanat error: its status code and message (and when to retry, if over a limit)."""
    code = status_of(exc)
    response = (
        error_page(request, code, str(exc))
        if wants_page(request)
        else JSONResponse({"detail": str(exc)}, status_code=code)
    )
    if isinstance(exc, TooManyRequests):
        response.headers["Retry-After"] = str(exc.retry_after)
    return response


async def http_error(request: Request, exc: Exception) -> Response:
    """401 sends people to the log-in page; other HTTP errors as a page or JSON."""
    assert isinstance(exc, HTTPException)
    if wants_page(request):
        if exc.status_code == 401:
            return _login_redirect(request)
        await _known_viewer(request)
        return error_page(request, exc.status_code, str(exc.detail))
    return JSONResponse({"detail": exc.detail}, status_code=exc.status_code, headers=exc.headers)


def safe_errors(errors: Sequence[Any]) -> list[dict[str, Any]]:
    """Validation errors as an answer may carry them: where and what, in words.

    pydantic's own error dicts hold the input (citizen data, or bytes that are not
    UTF-8) and objects JSON cannot carry; only the location, message and type are kept.
    """
    safe = []
    for error in errors:
        location = [part if isinstance(part, int) else str(part) for part in error.get("loc", ())]
        message = str(error.get("msg", "invalid value")).removeprefix("Value error, ")
        safe.append({"loc": location, "msg": message, "type": str(error.get("type", "value"))})
    return safe


async def validation_error(request: Request, exc: Exception) -> Response:
    """A form with a missing or oversized field: a 400 page; the API answers 422 with
    where and what (never the value sent)."""
    assert isinstance(exc, RequestValidationError)
    errors = safe_errors(exc.errors())
    if wants_page(request):
        return error_page(request, 400, "; ".join(error["msg"] for error in errors))
    return JSONResponse({"detail": errors}, status_code=422)


async def store_error(request: Request, exc: Exception) -> Response:
    """A database error that reached a route: 503 when the store is unavailable, else a
    value the store refused (422) — in words, never the SQL or its parameters."""
    if store_unavailable(exc):
        log.warning("the store is unavailable (%s)", describe(exc))
        code, detail = 503, "the store is unavailable now; try again later"
    else:
        log.warning("the store refused a value (%s)", describe(exc), exc_info=exc)
        code, detail = 422, f"a value cannot be stored ({describe(exc)})"
    if wants_page(request):
        return error_page(request, code, detail)
    return JSONResponse({"detail": detail}, status_code=code)


def install(app: FastAPI) -> None:
    """Register the handlers on ``app``."""
    from sqlalchemy.exc import SQLAlchemyError

    for error in CODES:
        app.add_exception_handler(error, qanat_error)
    app.add_exception_handler(HTTPException, http_error)
    app.add_exception_handler(RequestValidationError, validation_error)
    app.add_exception_handler(SQLAlchemyError, store_error)
    app.add_exception_handler(ConnectionError, store_error)
    app.add_exception_handler(TimeoutError, store_error)
