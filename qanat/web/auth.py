"""Who is asking, and may they: sessions, API tokens, CSRF, permissions, log-in and lock-out.

Browsers hold a session cookie (``HttpOnly``, ``SameSite=Lax``, ``Secure`` outside
development) whose random token the store keeps only as a hash; every form POST carries
a CSRF token derived from it. The app and integrations send ``Authorization: Bearer``
with an API token, limited to its scopes. What each role may do is the table
:data:`PERMISSIONS`; which tickets it may see is :func:`qanat.store.access.visible_tickets`.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import time
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Annotated, Any

from fastapi import Depends, HTTPException, Request, Response

from qanat.auth import hash_password, verify_password
from qanat.config import Settings
from qanat.store import accounts, audit, staff
from qanat.store.access import Viewer
from qanat.store.tables import User, utcnow
from qanat.web import totp
from qanat.web.deps import runtime_of

SESSION_COOKIE = "qanat_session"
#: A random value the log-in form echoes (double-submit), before any session exists.
LOGIN_COOKIE = "qanat_login"
CSRF_HEADER = "x-csrf-token"
CSRF_FIELD = "csrf_token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

#: What each role may do. Which tickets it may do it to is ``visible_tickets``.
PERMISSIONS: dict[str, frozenset[str]] = {
    "tickets.read": frozenset({"agent", "supervisor", "admin", "representative"}),
    "tickets.work": frozenset({"agent", "supervisor", "admin"}),
    "tickets.assign": frozenset({"supervisor", "admin"}),
    "tickets.transfer": frozenset({"supervisor", "admin"}),
    "reports": frozenset({"supervisor", "admin"}),
    "dead_letters": frozenset({"admin"}),
    "admin": frozenset({"admin"}),
    "accounts": frozenset({"admin"}),
    "submit": frozenset({"representative", "admin"}),
    # Field inspections: staff ask for a visit, inspectors (or supervisors) record it.
    "inspections.create": frozenset({"agent", "supervisor", "admin"}),
    "inspections.visit": frozenset({"inspector", "supervisor", "admin"}),
    "inspections.supervise": frozenset({"supervisor", "admin"}),
    # The citizens' app: what its token may do is the "app" scope, whoever it acts as.
    "app": frozenset({"agent", "supervisor", "admin", "representative"}),
}
#: Permissions never exercised through an API token (managing tokens and accounts).
SESSION_ONLY = frozenset({"accounts"})


def may(viewer: Viewer, permission: str, *, method: str = "GET") -> bool:
    """True when ``viewer``'s role has ``permission`` and, for a token, its scopes allow it."""
    if viewer.role not in PERMISSIONS[permission]:
        return False
    if permission == "app":  # only a token made for the app, never a browser session
        return viewer.scopes is not None and "app" in viewer.scopes
    if viewer.scopes is None:
        return True
    if permission in SESSION_ONLY:
        return False
    if permission == "submit":
        return "submit" in viewer.scopes
    return ("read" if method in SAFE_METHODS else "write") in viewer.scopes


def ensure(viewer: Viewer, permission: str, *, method: str = "POST") -> None:
    """Raise 403 unless ``viewer`` may do ``permission``."""
    if not may(viewer, permission, method=method):
        raise HTTPException(status_code=403, detail=f"not allowed: {permission}")


def csrf_token_for(settings: Settings, session_token: str) -> str:
    """The CSRF token of a session: an HMAC of its cookie, so nothing more is stored."""
    key = settings.secret_key.encode()
    return hmac.new(key, b"csrf:" + session_token.encode(), hashlib.sha256).hexdigest()


async def find_viewer(request: Request) -> Viewer | None:
    """The viewer of a request (bearer token first, then session cookie), cached per request."""
    if hasattr(request.state, "viewer"):
        cached: Viewer | None = request.state.viewer
        return cached
    runtime = runtime_of(request)
    now = utcnow()
    viewer: Viewer | None = None
    scheme, _, credential = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer" and credential:
        async with runtime.db.session() as session:
            found = await staff.token_viewer(session, token=credential.strip(), now=now)
        viewer, stale = found or (None, False)
        if viewer is not None and viewer.token_id is not None and stale:
            async with runtime.db.writing() as session:
                await staff.touch_token(session, token_id=viewer.token_id, now=now)
    elif cookie := request.cookies.get(SESSION_COOKIE):
        async with runtime.db.session() as session:
            viewer = await staff.session_viewer(session, token=cookie, now=now)
    request.state.viewer = viewer
    return viewer


def csrf_of(request: Request) -> str:
    """The CSRF token the pages of this request must embed ('' when not logged in)."""
    cookie = request.cookies.get(SESSION_COOKIE)
    return csrf_token_for(runtime_of(request).settings, cookie) if cookie else ""


async def check_csrf(request: Request, viewer: Viewer) -> None:
    """Refuse a state-changing request from a browser session without the right CSRF token."""
    if request.method in SAFE_METHODS or viewer.via != "session":
        return
    sent = request.headers.get(CSRF_HEADER, "")
    if not sent and "form" in request.headers.get("content-type", ""):
        value = (await request.form()).get(CSRF_FIELD, "")
        sent = value if isinstance(value, str) else ""
    if not sent or not hmac.compare_digest(sent, csrf_of(request)):
        raise HTTPException(status_code=403, detail="CSRF token missing or wrong")


def require(permission: str) -> Any:
    """A dependency: the logged-in viewer, who must have ``permission`` (401 / 403)."""

    async def dependency(request: Request) -> Viewer:
        viewer = await find_viewer(request)
        if viewer is None:
            raise HTTPException(
                status_code=401, detail="log in first", headers={"WWW-Authenticate": "Bearer"}
            )
        await check_csrf(request, viewer)
        ensure(viewer, permission, method=request.method)
        return viewer

    return Depends(dependency)


Reader = Annotated[Viewer, require("tickets.read")]
ReportReader = Annotated[Viewer, require("reports")]
Admin = Annotated[Viewer, require("admin")]
AccountKeeper = Annotated[Viewer, require("accounts")]
Worker = Annotated[Viewer, require("tickets.work")]
DeadLetterKeeper = Annotated[Viewer, require("dead_letters")]
Submitter = Annotated[Viewer, require("submit")]
Inspector = Annotated[Viewer, require("inspections.visit")]
InspectionSupervisor = Annotated[Viewer, require("inspections.supervise")]
AppClient = Annotated[Viewer, require("app")]


def client_ip(request: Request) -> str | None:
    """The peer address, for the audit log and log-in attempts."""
    return request.client.host if request.client else None


def cookies_secure(request: Request, settings: Settings) -> bool:
    """Whether cookies get ``Secure``: outside development, and whenever the request came
    over HTTPS (behind a proxy, the scheme it forwarded: uvicorn's proxy headers)."""
    return settings.environment != "development" or request.url.scheme == "https"


def set_session_cookie(
    response: Response, *, token: str, settings: Settings, request: Request
) -> None:
    """Hand the browser its session: not readable by scripts, not sent cross-site."""
    response.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=int(staff.SESSION_LIFETIME.total_seconds()),
        httponly=True,
        samesite="lax",
        secure=cookies_secure(request, settings),
        path="/",
    )


@dataclass(frozen=True)
class LoginOutcome:
    """A log-in's result: the session token, or why not (``wrong``, ``locked``)."""

    token: str | None = None
    problem: str | None = None
    locked_until: datetime | None = None


@cache
def _decoy_hash() -> str:
    # Checked against when the username is unknown, so timing does not reveal accounts.
    return hash_password("qanat-decoy-password")


async def _password_ok(user: User | None, password: str) -> bool:
    stored = user.password_hash if user else _decoy_hash()
    matched = await asyncio.to_thread(verify_password, stored, password)
    return matched and user is not None


async def log_in(request: Request, *, username: str, password: str, code: str = "") -> LoginOutcome:
    """Check a username, password (and TOTP code when enrolled); open a session if right."""
    runtime = runtime_of(request)
    now, ip = utcnow(), client_ip(request)
    async with runtime.db.session() as session:
        until = await staff.locked_until(session, username=username, now=now, ip=ip)
        user = await staff.user_named(session, username=username)
        second = await staff.totp_of(session, user_id=user.id) if user and user.id else None
    if until is not None:
        return LoginOutcome(problem="locked", locked_until=until)
    ok = await _password_ok(user, password)
    step = None
    enrolled = ok and second is not None and second.confirmed_at is not None
    if enrolled and second is not None:
        step = totp.matching_step(
            second.secret, code, unix_seconds=time.time(), after_step=second.last_step
        )
    async with runtime.db.writing() as session:
        recovered = False
        if enrolled and step is None and user is not None and user.id is not None and code:
            # No code from the app: one of the recovery codes, spent as it is used.
            recovered = await accounts.use_recovery_code(
                session, user_id=user.id, code=code, now=now
            )
        ok = ok and (not enrolled or step is not None or recovered)
        await staff.record_attempt(session, username=username, succeeded=ok, ip=ip, now=now)
        if not ok or user is None or user.id is None:
            await audit.record(
                session, viewer=None, action="login_failed", detail={"username": username}, ip=ip
            )
            return LoginOutcome(problem="wrong")
        if step is not None and second is not None:
            second.last_step = step
            session.add(second)
        token = await staff.open_session(
            session, user_id=user.id, now=now, ip=ip, user_agent=request.headers.get("user-agent")
        )
        action = "recovery_code_used" if recovered else "login"
        await audit.record(session, viewer=staff.viewer_of(user), action=action, ip=ip)
    return LoginOutcome(token=token)


async def log_out(request: Request, response: Response) -> None:
    """End the request's session (if any) and clear the cookie."""
    cookie = request.cookies.get(SESSION_COOKIE)
    if cookie:
        async with runtime_of(request).db.writing() as session:
            await staff.close_session(session, token=cookie, now=utcnow())
    response.delete_cookie(SESSION_COOKIE, path="/")
