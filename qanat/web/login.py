"""Pages for signing in and out, and one's own account: language and two-step verification."""

from __future__ import annotations

import hmac
import math
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from qanat.store import staff
from qanat.store.tables import utcnow
from qanat.web import i18n
from qanat.web.auth import (
    LOGIN_COOKIE,
    Reader,
    cookies_secure,
    find_viewer,
    log_in,
    log_out,
    set_session_cookie,
)
from qanat.web.deps import RuntimeDep, runtime_of
from qanat.web.templating import LANGUAGE_COOKIE, page

router = APIRouter(include_in_schema=False)


def safe_next(target: str | None) -> str:
    """Where to go after logging in: only a path on this site (no open redirect)."""
    if target and target.startswith("/") and not target.startswith(("//", "/\\")):
        return target
    return "/inbox"


def landing(role: str, target: str) -> str:
    """Inspectors start on their visits, not the inbox they do not work."""
    return "/inspect" if role == "inspector" and target == "/inbox" else target


def _login_page(
    request: Request, *, token: str, error: str | None = None, status_code: int = 200
) -> Response:
    response = page(
        request,
        "login.html",
        viewer=None,
        login_csrf=token,
        next=safe_next(request.query_params.get("next")),
        error=error,
        status_code=status_code,
    )
    secure = cookies_secure(request, runtime_of(request).settings)
    response.set_cookie(
        LOGIN_COOKIE, token, httponly=True, samesite="strict", path="/login", secure=secure
    )
    if lang := request.query_params.get("lang"):
        response.set_cookie(LANGUAGE_COOKIE, i18n.language_of(lang), samesite="lax", path="/")
    return response


@router.get("/login")
async def login_form(request: Request) -> Response:
    """The log-in form (straight to the inbox when already logged in)."""
    if (viewer := await find_viewer(request)) is not None:
        return RedirectResponse(landing(viewer.role, "/inbox"), status_code=303)
    token = request.cookies.get(LOGIN_COOKIE) or staff.new_secret_token()
    return _login_page(request, token=token)


@router.post("/login")
async def login_submit(
    request: Request,
    runtime: RuntimeDep,
    username: Annotated[str, Form(max_length=120)],
    password: Annotated[str, Form(max_length=1000)],
    csrf_token: Annotated[str, Form()] = "",
    code: Annotated[str, Form(max_length=20)] = "",
    next: Annotated[str, Form()] = "/inbox",
) -> Response:
    """Check the credentials; on success set the session cookie and go on."""
    expected = request.cookies.get(LOGIN_COOKIE, "")
    fresh = staff.new_secret_token()
    t = i18n.translator(i18n.language_of(request.cookies.get(LANGUAGE_COOKIE)))
    if not expected or not hmac.compare_digest(expected, csrf_token):
        return _login_page(request, token=fresh, error=t("login_expired"), status_code=403)
    outcome = await log_in(request, username=username.strip(), password=password, code=code)
    if outcome.token is None:
        if outcome.problem == "locked" and outcome.locked_until is not None:
            minutes = max(1, math.ceil((outcome.locked_until - utcnow()).total_seconds() / 60))
            error = t("login_locked", minutes=minutes)
            return _login_page(request, token=expected, error=error, status_code=429)
        return _login_page(request, token=expected, error=t("login_wrong"), status_code=401)
    async with runtime.db.session() as session:
        person = await staff.user_named(session, username=username.strip())
    target = landing(person.role if person else "", safe_next(next))
    response = RedirectResponse(target, status_code=303)
    set_session_cookie(response, token=outcome.token, settings=runtime.settings, request=request)
    response.delete_cookie(LOGIN_COOKIE, path="/login")
    return response


@router.post("/logout")
async def logout(request: Request, viewer: Reader) -> Response:
    """End the session."""
    response = RedirectResponse("/login", status_code=303)
    await log_out(request, response)
    return response
