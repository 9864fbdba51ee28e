"""One's own account: language, password, and two-step verification (an authenticator
app enrolled from a QR code, with one-time recovery codes); and the page a one-time reset
link an admin made opens.
"""

from __future__ import annotations

import asyncio
import time
from typing import Annotated, Any

import segno
from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response
from markupsafe import Markup
from sqlalchemy import update
from sqlmodel import col

from qanat.auth import hash_password, verify_password
from qanat.errors import NotFound
from qanat.store import accounts, audit, staff
from qanat.store.tables import StaffTotp, User, utcnow
from qanat.web import i18n, totp
from qanat.web.auth import Reader, client_ip
from qanat.web.deps import RuntimeDep
from qanat.web.login import safe_next
from qanat.web.templating import page

router = APIRouter(include_in_schema=False)

Password = Annotated[str, Form(max_length=1000)]


def qr_code(uri: str) -> Markup:
    """The ``otpauth://`` address as an inline SVG QR code (no image is fetched)."""
    svg = segno.make(uri, error="m").svg_inline(scale=5, border=2, dark="#1d2327", light="#fff")
    return Markup(svg)  # segno writes the markup itself; the address is escaped in it


def _enrolling(secret: str, username: str) -> dict[str, Any]:
    uri = totp.provisioning_uri(secret, username=username)
    return {"secret": secret, "uri": uri, "qr": qr_code(uri)}


async def _account_page(
    request: Request, runtime: RuntimeDep, viewer: Reader, status_code: int = 200, **shown: Any
) -> Response:
    async with runtime.db.session() as session:
        second = await staff.totp_of(session, user_id=viewer.user_id)
        left = await accounts.codes_left(session, user_id=viewer.user_id)
    values = {"second": second, "codes_left": left, "enrolling": None, "codes": None,
              "errors": {}, "done": request.query_params.get("done"), **shown}  # fmt: skip
    return page(request, "account.html", viewer=viewer, status_code=status_code, **values)


@router.get("/account")
async def account(request: Request, runtime: RuntimeDep, viewer: Reader) -> Response:
    """One's own settings: language, password, two-step verification."""
    return await _account_page(request, runtime, viewer)


@router.post("/account/language")
async def set_language(
    request: Request,
    runtime: RuntimeDep,
    viewer: Reader,
    language: Annotated[str, Form()],
    next: Annotated[str, Form()] = "/account",
) -> Response:
    """Switch the interface language (kept on the account)."""
    chosen = i18n.language_of(language)
    async with runtime.db.writing() as session:
        await session.execute(
            update(User).where(col(User.id) == viewer.user_id).values(language=chosen)
        )
    return RedirectResponse(safe_next(next), status_code=303)


async def _password_right(runtime: RuntimeDep, user_id: int, password: str) -> User | None:
    """The account, when ``password`` is its password."""
    async with runtime.db.session() as session:
        user = await session.get(User, user_id)
    if user is None or not await asyncio.to_thread(verify_password, user.password_hash, password):
        return None
    return user


@router.post("/account/password")
async def change_password(
    request: Request, runtime: RuntimeDep, viewer: Reader,
    current: Password = "", new: Password = "", again: Password = "",
) -> Response:  # fmt: skip
    """Change one's own password; every session of the account ends (log in again)."""
    user = await _password_right(runtime, viewer.user_id, current)
    errors: dict[str, str] = {}
    if user is None:
        errors["current"] = "password_wrong"
    elif problem := accounts.password_problem(new, username=viewer.username):
        errors["new"] = problem
    elif new != again:
        errors["again"] = "passwords_differ"
    if errors or user is None:
        return await _account_page(request, runtime, viewer, 422, errors=errors)
    async with runtime.db.writing() as session:
        fresh = await session.get(User, user.id)
        assert fresh is not None
        hashed = await asyncio.to_thread(hash_password, new)
        await accounts.set_password(session, user=fresh, password_hash=hashed, now=utcnow())
        await audit.record(session, viewer=viewer, action="password_changed", ip=client_ip(request))
    return RedirectResponse("/login?changed=1", status_code=303)


@router.post("/account/totp")
async def start_totp(request: Request, runtime: RuntimeDep, viewer: Reader) -> Response:
    """Begin enrolling an authenticator app: a QR code (and its key as text), not yet
    required until a code from the app checks out."""
    secret = totp.new_secret()
    async with runtime.db.writing() as session:
        second = await staff.totp_of(session, user_id=viewer.user_id)
        if second is not None and second.confirmed_at is not None:
            return RedirectResponse("/account", status_code=303)
        if second is None:
            session.add(StaffTotp(user_id=viewer.user_id, secret=secret))
        else:
            second.secret = secret
    enrolling = _enrolling(secret, viewer.username)
    return await _account_page(request, runtime, viewer, enrolling=enrolling, second=None)


@router.post("/account/totp/confirm")
async def confirm_totp(
    request: Request, runtime: RuntimeDep, viewer: Reader, code: Annotated[str, Form()]
) -> Response:
    """Turn two-step verification on once the app's first code checks out, and show the
    recovery codes once."""
    async with runtime.db.writing() as session:
        second = await staff.totp_of(session, user_id=viewer.user_id)
        if second is None or second.confirmed_at is not None:
            return RedirectResponse("/account", status_code=303)
        step = totp.matching_step(second.secret, code, unix_seconds=time.time(), after_step=0)
        if step is None:
            enrolling = _enrolling(second.secret, viewer.username)
            errors = {"code": "totp_code_wrong"}
            return await _account_page(request, runtime, viewer, 422, enrolling=enrolling,
                                       second=None, errors=errors)  # fmt: skip
        second.confirmed_at, second.last_step = utcnow(), step
        codes = await accounts.make_recovery_codes(session, user_id=viewer.user_id)
        await audit.record(session, viewer=viewer, action="totp_enabled", ip=client_ip(request))
    return await _account_page(request, runtime, viewer, codes=codes)


@router.post("/account/recovery-codes")
async def new_recovery_codes(
    request: Request, runtime: RuntimeDep, viewer: Reader, current: Password = ""
) -> Response:
    """New recovery codes (the old ones stop working), after the password."""
    if await _password_right(runtime, viewer.user_id, current) is None:
        return await _account_page(request, runtime, viewer, 422,
                                   errors={"codes_current": "password_wrong"})  # fmt: skip
    async with runtime.db.writing() as session:
        codes = await accounts.make_recovery_codes(session, user_id=viewer.user_id)
        await audit.record(session, viewer=viewer, action="recovery_codes", ip=client_ip(request))
    return await _account_page(request, runtime, viewer, codes=codes)


@router.post("/account/totp/off")
async def totp_off(
    request: Request, runtime: RuntimeDep, viewer: Reader, current: Password = ""
) -> Response:
    """Turn two-step verification off, after the password."""
    if await _password_right(runtime, viewer.user_id, current) is None:
        return await _account_page(request, runtime, viewer, 422,
                                   errors={"off_current": "password_wrong"})  # fmt: skip
    async with runtime.db.writing() as session:
        await accounts.turn_off_second_factor(session, user_id=viewer.user_id)
        await audit.record(session, viewer=viewer, action="totp_disabled", ip=client_ip(request))
    return RedirectResponse("/account?done=totp_off", status_code=303)


@router.get("/reset/{token}")
async def reset_form(request: Request, runtime: RuntimeDep, token: str) -> Response:
    """The page a one-time reset link opens: choose a new password."""
    async with runtime.db.session() as session:
        reset = await accounts.reset_of(session, token=token, now=utcnow())
        user = await session.get(User, reset.user_id) if reset else None
    if reset is None or user is None:
        raise NotFound("this reset link was used, has expired, or never existed")
    return page(request, "reset.html", viewer=None, token=token, username=user.username,
                errors={})  # fmt: skip


@router.post("/reset/{token}")
async def reset_password(
    request: Request, runtime: RuntimeDep, token: str, new: Password = "", again: Password = ""
) -> Response:
    """Set the new password; the link is spent and the account's sessions end."""
    now = utcnow()
    async with runtime.db.writing() as session:
        reset = await accounts.reset_of(session, token=token, now=now)
        user = await session.get(User, reset.user_id) if reset else None
        if reset is None or user is None:
            raise NotFound("this reset link was used, has expired, or never existed")
        problem = accounts.password_problem(new, username=user.username)
        errors = {"new": problem} if problem else {}
        if not errors and new != again:
            errors["again"] = "passwords_differ"
        if errors:
            return page(request, "reset.html", viewer=None, token=token,
                        username=user.username, errors=errors, status_code=422)  # fmt: skip
        hashed = await asyncio.to_thread(hash_password, new)
        await accounts.set_password(session, user=user, password_hash=hashed, now=now)
        reset.used_at = now
        session.add(reset)
        await audit.record(session, viewer=staff.viewer_of(user), action="password_reset",
                           ip=client_ip(request))  # fmt: skip
    return RedirectResponse("/login?changed=1", status_code=303)
