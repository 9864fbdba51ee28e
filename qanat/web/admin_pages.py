"""Admin pages (staff accounts, API tokens, the audit log) and the representatives' form."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response
from sqlmodel import col, select

from qanat.auth import ROLES
from qanat.errors import BadPayload, NotFound
from qanat.store import audit, staff
from qanat.store.tables import User, utcnow
from qanat.store.users import add_user
from qanat.web import work
from qanat.web.auth import AccountKeeper, Admin, Submitter, client_ip
from qanat.web.deps import RowId, RuntimeDep
from qanat.web.names import NamesDep
from qanat.web.templating import page

router = APIRouter(include_in_schema=False)


@router.get("/admin/tokens")
async def tokens_page(
    request: Request, runtime: RuntimeDep, viewer: AccountKeeper, names: NamesDep
) -> Response:
    """API tokens: who they act as, their scopes, when last used; create and revoke."""
    async with runtime.db.session() as session:
        tokens = await staff.api_tokens(session)
        users = list(
            (
                await session.execute(
                    select(User.username).where(col(User.active).is_(True)).order_by(User.username)
                )
            ).scalars()
        )
    return page(
        request,
        "tokens.html",
        viewer=viewer,
        names=names,
        tokens=tokens,
        users=users,
        scopes=staff.TOKEN_SCOPES,
        created=None,
    )


@router.post("/admin/tokens")
async def create_token(
    request: Request,
    runtime: RuntimeDep,
    viewer: AccountKeeper,
    names: NamesDep,
    name: Annotated[str, Form(min_length=1, max_length=120)],
    username: Annotated[str, Form(max_length=120)],
    scopes: Annotated[list[str], Form()],
) -> Response:
    """Issue a token and show its secret once."""
    async with runtime.db.writing() as session:
        user = await staff.user_named(session, username=username)
        if user is None or user.id is None:
            raise BadPayload(f"no active account {username!r}")
        try:
            token, secret = await staff.create_api_token(
                session, name=name, user_id=user.id, scopes=scopes, created_by_id=viewer.user_id
            )
        except ValueError as exc:
            raise BadPayload(str(exc)) from exc
        detail = {"token_id": token.id, "name": name, "for": username}
        await audit.record(
            session, viewer=viewer, action="token_created", detail=detail, ip=client_ip(request)
        )
        tokens = await staff.api_tokens(session)
    return page(
        request,
        "tokens.html",
        viewer=viewer,
        names=names,
        tokens=tokens,
        users=[username],
        scopes=staff.TOKEN_SCOPES,
        created=secret,
    )


@router.post("/admin/tokens/{token_id}/revoke")
async def revoke_token(
    request: Request, runtime: RuntimeDep, viewer: AccountKeeper, token_id: RowId
) -> Response:
    """Revoke a token at once."""
    async with runtime.db.writing() as session:
        if await staff.revoke_api_token(session, token_id=token_id, now=utcnow()):
            await audit.record(
                session,
                viewer=viewer,
                action="token_revoked",
                detail={"token_id": token_id},
                ip=client_ip(request),
            )
    return RedirectResponse("/admin/tokens", status_code=303)


@router.get("/admin/audit")
async def audit_page(
    request: Request, runtime: RuntimeDep, viewer: Admin, names: NamesDep
) -> Response:
    """The latest audit rows: views of personal data and every change."""
    async with runtime.db.session() as session:
        entries = await audit.recent(session, limit=300)
    return page(request, "audit.html", viewer=viewer, names=names, entries=entries)


@router.get("/submit")
async def submit_form(request: Request, viewer: Submitter) -> Response:
    """A representative's form to report a problem in their block."""
    return page(request, "submit.html", viewer=viewer, reference=None)


@router.post("/submit")
async def submit(
    request: Request,
    runtime: RuntimeDep,
    viewer: Submitter,
    text: Annotated[str, Form(min_length=1, max_length=10_000)],
    road: Annotated[str, Form(max_length=20)] = "",
    building: Annotated[str, Form(max_length=20)] = "",
) -> Response:
    """Save the report through the intake, like any other channel's message."""
    _saved, reference = await work.submit_report(
        runtime, viewer, text=text, road=road, building=building
    )
    return page(request, "submit.html", viewer=viewer, reference=reference or "…")


@router.post("/admin/users")
async def add_user_form(
    request: Request,
    runtime: RuntimeDep,
    viewer: AccountKeeper,
    username: Annotated[str, Form(min_length=2, max_length=120, pattern=r"^[a-z0-9_.-]+$")],
    display_name: Annotated[str, Form(min_length=1, max_length=200)],
    role: Annotated[str, Form()],
    password: Annotated[str, Form(min_length=10, max_length=1000)],
    department: Annotated[str, Form(max_length=60)] = "",
    block: Annotated[str, Form(max_length=10)] = "",
    email: Annotated[str, Form(max_length=320, pattern=r"^$|^[^@\s]+@[^@\s]+$")] = "",
) -> Response:
    """Add a member of staff or a block's representative."""
    if role not in ROLES:
        raise BadPayload(f"unknown role {role!r}")
    try:
        await add_user(
            runtime.db,
            username=username,
            role=role,
            display_name=display_name,
            password=password,
            department=department or None,
            block=block or None,
            email=email or None,
        )
    except ValueError as exc:
        raise BadPayload(str(exc)) from exc
    async with runtime.db.writing() as session:
        detail = {"username": username, "role": role, "department": department or None}
        await audit.record(
            session, viewer=viewer, action="user_added", detail=detail, ip=client_ip(request)
        )
    return RedirectResponse("/settings/users", status_code=303)


@router.post("/admin/users/{user_id}/active")
async def set_active(
    request: Request,
    runtime: RuntimeDep,
    viewer: AccountKeeper,
    user_id: RowId,
    active: Annotated[bool, Form()],
) -> Response:
    """Deactivate an account (its sessions and tokens stop at once) or reactivate it."""
    if user_id == viewer.user_id:
        raise BadPayload("you cannot deactivate your own account")
    async with runtime.db.writing() as session:
        person = await session.get(User, user_id)
        if person is None:
            raise NotFound(f"no account {user_id}")
        person.active = active
        detail = {"username": person.username, "active": active}
        await audit.record(
            session, viewer=viewer, action="user_active", detail=detail, ip=client_ip(request)
        )
    return RedirectResponse("/settings/users", status_code=303)
