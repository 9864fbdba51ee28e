"""Settings: staff accounts — role, department, languages, shift, address, switching an
account off — and one-time password reset links. Adding an account and switching one
off are the forms of :mod:`qanat.web.admin_pages`; every change is audited."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response
from sqlmodel import col, select

from qanat.auth import ROLES
from qanat.errors import NotFound
from qanat.store import accounts, audit
from qanat.store.tables import Department, User, utcnow
from qanat.store.users import LANGUAGES
from qanat.web.auth import AccountKeeper, client_ip
from qanat.web.deps import RuntimeDep
from qanat.web.names import NamesDep
from qanat.web.templating import page

router = APIRouter(include_in_schema=False)

_SHIFT = re.compile(r"^([01]\d|2[0-3]):[0-5]\d-([01]\d|2[0-3]):[0-5]\d$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


async def _departments(runtime: RuntimeDep) -> list[Department]:
    async with runtime.db.session() as session:
        statement = select(Department).order_by(col(Department.code))
        return list((await session.execute(statement)).scalars())


@router.get("/settings/users")
async def users_page(
    request: Request, runtime: RuntimeDep, viewer: AccountKeeper, names: NamesDep
) -> Response:
    """Staff accounts: who has which role, in which department; add, change, switch off."""
    async with runtime.db.session() as session:
        people = list((await session.execute(select(User).order_by(User.username))).scalars())
    return page(
        request,
        "users.html",
        viewer=viewer,
        names=names,
        people=people,
        roles=ROLES,
        departments=await _departments(runtime),
        done=request.query_params.get("done"),
    )


@router.get("/admin/users")
async def old_users_page() -> Response:
    """The accounts page moved to the settings."""
    return RedirectResponse("/settings/users", status_code=303)


async def _person(runtime: RuntimeDep, user_id: int) -> User:
    async with runtime.db.session() as session:
        person = await session.get(User, user_id)
    if person is None:
        raise NotFound(f"no account {user_id}")
    return person


def _form(
    request: Request,
    viewer: Any,
    names: Any,
    person: User,
    departments: list[Department],
    errors: dict[str, str],
    status_code: int = 200,
    link: str | None = None,
) -> Response:
    return page(
        request,
        "user_edit.html",
        viewer=viewer,
        names=names,
        person=person,
        roles=ROLES,
        departments=departments,
        languages=LANGUAGES,
        errors=errors,
        link=link,
        status_code=status_code,
    )


@router.get("/settings/users/{user_id}")
async def user_form(
    request: Request, runtime: RuntimeDep, viewer: AccountKeeper, names: NamesDep, user_id: int
) -> Response:
    """One account's form."""
    person = await _person(runtime, user_id)
    return _form(request, viewer, names, person, await _departments(runtime), {})


@dataclass(frozen=True)
class Change:
    """What the account form sent."""

    display_name: str
    role: str
    department: str
    block: str
    languages: list[str]
    shift: str
    email: str


def problems(change: Change, departments: set[str]) -> dict[str, str]:
    """Mistakes in the account form, field → message key."""
    errors: dict[str, str] = {}
    if not change.display_name.strip():
        errors["display_name"] = "field_required"
    if change.role not in ROLES:
        errors["role"] = "error_bad_choice"
    if change.department and change.department not in departments:
        errors["department"] = "error_unknown_department"
    if change.role in ("agent", "supervisor") and not change.department:
        errors["department"] = "department_needed"
    if not change.languages or set(change.languages) - set(LANGUAGES):
        errors["languages"] = "languages_needed"
    if change.shift and not _SHIFT.match(change.shift):
        errors["shift"] = "hours_invalid"
    if change.email and not _EMAIL.match(change.email):
        errors["email"] = "email_invalid"
    return errors


Short = Annotated[str, Form(max_length=200)]


@router.post("/settings/users/{user_id}")
async def save_user(
    request: Request,
    runtime: RuntimeDep,
    viewer: AccountKeeper,
    names: NamesDep,
    user_id: int,
    display_name: Short = "",
    role: Short = "",
    department: Short = "",
    block: Annotated[str, Form(max_length=10)] = "",
    languages: Annotated[list[str] | None, Form()] = None,
    shift: Short = "",
    email: Annotated[str, Form(max_length=320)] = "",
) -> Response:
    """Change an account (its sessions keep going; a role change applies at once)."""
    change = Change(
        display_name.strip(),
        role,
        department,
        block.strip(),
        languages or [],
        shift.replace(" ", ""),
        email.strip(),
    )
    departments = await _departments(runtime)
    errors = problems(change, {d.code for d in departments})
    if errors:
        shown = await _person(runtime, user_id)
        return _form(request, viewer, names, shown, departments, errors, 422)
    ids = {d.code: d.id for d in departments}
    async with runtime.db.writing() as session:
        person = await session.get(User, user_id)
        if person is None:
            raise NotFound(f"no account {user_id}")
        person.display_name, person.role = change.display_name, change.role
        person.department_id = ids.get(change.department) if change.department else None
        person.block = change.block or None
        person.languages, person.shift = list(dict.fromkeys(change.languages)), change.shift or None
        person.email = change.email or None
        session.add(person)
        detail = {
            "username": person.username,
            "role": change.role,
            "department": change.department or None,
            "languages": person.languages,
            "shift": person.shift,
        }
        await audit.record(
            session, viewer=viewer, action="user_changed", detail=detail, ip=client_ip(request)
        )
    return RedirectResponse(f"/settings/users?done={user_id}", status_code=303)


@router.post("/settings/users/{user_id}/reset-link")
async def reset_link(
    request: Request, runtime: RuntimeDep, viewer: AccountKeeper, names: NamesDep, user_id: int
) -> Response:
    """A one-time link for the person to choose a new password, shown once to pass on."""
    async with runtime.db.writing() as session:
        found = await session.get(User, user_id)
        if found is None:
            raise NotFound(f"no account {user_id}")
        person = found
        token = await accounts.make_reset_link(
            session, user_id=user_id, by_id=viewer.user_id, now=utcnow()
        )
        await audit.record(
            session,
            viewer=viewer,
            action="password_reset_link",
            detail={"username": person.username},
            ip=client_ip(request),
        )
    link = f"{str(request.base_url).rstrip('/')}/reset/{token}"
    return _form(request, viewer, names, person, await _departments(runtime), {}, link=link)
