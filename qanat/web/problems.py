"""The one place errors become HTTP answers: JSON for the API, a page (or the log-in) for people."""

from __future__ import annotations

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
from qanat.web.templating import page

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
    )


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
        return error_page(request, exc.status_code, str(exc.detail))
    return JSONResponse({"detail": exc.detail}, status_code=exc.status_code, headers=exc.headers)


async def validation_error(request: Request, exc: Exception) -> Response:
    """A form with a missing or oversized field: a 400 page; the API keeps FastAPI's 422."""
    assert isinstance(exc, RequestValidationError)
    if wants_page(request):
        problems = "; ".join(str(e.get("msg", "")) for e in exc.errors())
        return error_page(request, 400, problems)
    return JSONResponse({"detail": exc.errors()}, status_code=422)


def install(app: FastAPI) -> None:
    """Register the handlers on ``app``."""
    for error in CODES:
        app.add_exception_handler(error, qanat_error)
    app.add_exception_handler(HTTPException, http_error)
    app.add_exception_handler(RequestValidationError, validation_error)
