"""Settings for admins: the index, departments, the routing rules and the SLA rows.

The index lists :data:`SECTIONS`; a page elsewhere joins it with ``SECTIONS.append``.
Departments, rules and SLA rows are the routing rules file's: each save checks the whole
file as ``qanat router check`` does, keeps a new version in the store with an audit
entry, and puts it in force (:mod:`qanat.web.rules_edit`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response
from sqlmodel import col, select

from qanat.errors import ConfigError, NotFound
from qanat.model import Kind, Priority
from qanat.store import rules_versions
from qanat.store.tables import Department
from qanat.web import rules_edit
from qanat.web.auth import Admin, client_ip, may
from qanat.web.deps import RuntimeDep
from qanat.web.names import NamesDep
from qanat.web.templating import page

router = APIRouter(include_in_schema=False)


@dataclass(frozen=True)
class Section:
    """A settings page on the index: its address, its words' keys, who may open it."""

    href: str
    title: str
    hint: str
    permission: str = "admin"


#: The settings index, in order. Other pages add theirs with ``SECTIONS.append(...)``.
SECTIONS: list[Section] = [
    Section("/settings/departments", "departments", "hint_departments"),
    Section("/settings/canned", "canned_replies", "hint_canned"),
    Section("/settings/users", "users", "hint_users", "accounts"),
    Section("/admin/tokens", "api_tokens", "hint_tokens", "accounts"),
    Section("/settings/rules", "routing_rules", "hint_rules"),
    Section("/settings/sla", "sla_rows", "hint_sla"),
    Section("/admin/audit", "audit_log", "hint_audit"),
    Section("/admin/ledger", "ledger", "hint_ledger"),
    Section("/admin/channels", "channel_health", "hint_channels"),
]
_HOURS = re.compile(r"^\s*([01]\d|2[0-3]):[0-5]\d\s*-\s*([01]\d|2[0-3]):[0-5]\d\s*$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
ASSIGNMENTS = ("none", "round_robin", "least_loaded")


@router.get("/settings")
async def settings_index(request: Request, viewer: Admin) -> Response:
    """Every settings page the viewer may open."""
    shown = [s for s in SECTIONS if may(viewer, s.permission)]
    return page(request, "settings.html", viewer=viewer, sections=shown)


@router.get("/settings/departments")
async def departments_page(
    request: Request, runtime: RuntimeDep, viewer: Admin, names: NamesDep
) -> Response:
    """The departments: names, escalation address, working hours, how tickets reach agents."""
    rules = runtime.rules()
    return page(
        request,
        "settings_departments.html",
        viewer=viewer,
        names=names,
        departments=rules.departments,
        done=request.query_params.get("done"),
    )


@router.get("/settings/departments/{code}")
async def department_form(
    request: Request, runtime: RuntimeDep, viewer: Admin, names: NamesDep, code: str
) -> Response:
    """One department's form."""
    found = runtime.rules().department(code)
    if found is None:
        raise NotFound(f"no department {code!r}")
    values = {
        "name_ar": found.name_ar,
        "name_en": found.name_en,
        "email": found.email or "",
        "working_hours": found.working_hours,
        "assignment": found.assignment,
    }
    return _department_page(request, viewer, names, code, values, {})


def _department_page(
    request: Request,
    viewer: Any,
    names: Any,
    code: str,
    values: dict[str, str],
    errors: dict[str, str],
    status_code: int = 200,
    problem: str = "",
) -> Response:
    return page(
        request,
        "settings_department.html",
        viewer=viewer,
        names=names,
        code=code,
        values=values,
        errors=errors,
        problem=problem,
        assignments=ASSIGNMENTS,
        status_code=status_code,
    )


def department_errors(values: dict[str, str]) -> dict[str, str]:
    """Mistakes in the department form, field → message key."""
    errors = {f: "field_required" for f in ("name_ar", "name_en") if not values[f].strip()}
    if values["email"] and not _EMAIL.match(values["email"]):
        errors["email"] = "email_invalid"
    found = _HOURS.match(values["working_hours"])
    if (
        not found
        or values["working_hours"].replace(" ", "").split("-")[0]
        >= (values["working_hours"].replace(" ", "").split("-")[1])
    ):
        errors["working_hours"] = "hours_invalid"
    if values["assignment"] not in ASSIGNMENTS:
        errors["assignment"] = "error_bad_choice"
    return errors


Text = Annotated[str, Form(max_length=200)]


@router.post("/settings/departments/{code}")
async def save_department(
    request: Request,
    runtime: RuntimeDep,
    viewer: Admin,
    names: NamesDep,
    code: str,
    name_ar: Text = "",
    name_en: Text = "",
    working_hours: Text = "",
    email: Annotated[str, Form(max_length=320)] = "",
    assignment: Text = "none",
) -> Response:
    """Save a department: a new version of the rules, checked whole, with an audit entry."""
    values = {
        "name_ar": name_ar.strip(),
        "name_en": name_en.strip(),
        "email": email.strip(),
        "working_hours": working_hours.replace(" ", ""),
        "assignment": assignment,
    }
    errors = department_errors(values)
    if errors:
        return _department_page(request, viewer, names, code, values, errors, 422)
    change = rules_edit.DepartmentEdit(
        values["name_ar"],
        values["name_en"],
        values["email"] or None,
        values["working_hours"],
        values["assignment"],
    )
    try:
        text = rules_edit.edit_department(await rules_edit.current_text(runtime), code, change)
        await rules_edit.save(
            runtime, viewer, text, note=f"department {code}", ip=client_ip(request)
        )
    except ConfigError as exc:
        return _department_page(request, viewer, names, code, values, {}, 422, problem=str(exc))
    return RedirectResponse(f"/settings/departments?done={code}", status_code=303)


@router.get("/settings/rules")
async def rules_page(
    request: Request, runtime: RuntimeDep, viewer: Admin, names: NamesDep
) -> Response:
    """The routing rules as YAML, the check, and every saved version."""
    return await _rules_page(
        request, runtime, viewer, names, await rules_edit.current_text(runtime)
    )


async def _rules_page(
    request: Request,
    runtime: RuntimeDep,
    viewer: Any,
    names: Any,
    text: str,
    problem: str = "",
    checked: bool = False,
    status_code: int = 200,
) -> Response:
    async with runtime.db.session() as session:
        history = await rules_versions.history(session)
    return page(
        request,
        "settings_rules.html",
        viewer=viewer,
        names=names,
        text=text,
        problem=problem,
        checked=checked,
        history=history,
        status_code=status_code,
        version=runtime.rules().version,
        done=request.query_params.get("done"),
    )


@router.post("/settings/rules")
async def save_rules(
    request: Request,
    runtime: RuntimeDep,
    viewer: Admin,
    names: NamesDep,
    text: Annotated[str, Form(max_length=500_000)],
    note: Annotated[str, Form(max_length=500)] = "",
    action: Text = "save",
) -> Response:
    """Check the rules (``action=check``) or check and save them as the version in force."""
    try:
        if action == "check":
            rules_edit.check(runtime, text)
            return await _rules_page(request, runtime, viewer, names, text, checked=True)
        await rules_edit.save(runtime, viewer, text, note=note.strip(), ip=client_ip(request))
    except ConfigError as exc:
        return await _rules_page(
            request, runtime, viewer, names, text, problem=str(exc), status_code=422
        )
    return RedirectResponse("/settings/rules?done=1", status_code=303)


@router.get("/settings/rules.yaml")
async def export_rules(runtime: RuntimeDep, viewer: Admin) -> Response:
    """The rules in force as a YAML file (what ``qanat rules import`` reads back)."""
    text = await rules_edit.current_text(runtime)
    headers = {"Content-Disposition": 'attachment; filename="qanat-rules.yaml"'}
    return Response(text, media_type="application/yaml; charset=utf-8", headers=headers)


@router.get("/settings/sla")
async def sla_page(
    request: Request, runtime: RuntimeDep, viewer: Admin, names: NamesDep
) -> Response:
    """The SLA rows: department × kind × priority → hours to first response and resolution."""
    rows = [row.model_dump() for row in runtime.rules().sla]
    return await _sla_page(request, runtime, viewer, names, rows, {})


async def _sla_page(
    request: Request,
    runtime: RuntimeDep,
    viewer: Any,
    names: Any,
    rows: list[dict[str, Any]],
    errors: dict[str, str],
    problem: str = "",
    status_code: int = 200,
) -> Response:
    async with runtime.db.session() as session:
        codes = list((await session.execute(select(col(Department.code)))).scalars())
    return page(
        request,
        "settings_sla.html",
        viewer=viewer,
        names=names,
        rows=rows,
        errors=errors,
        problem=problem,
        codes=sorted(codes),
        status_code=status_code,
        kinds=[k.value for k in Kind],
        priorities=[p.value for p in Priority],
        done=request.query_params.get("done"),
    )


def sla_rows(form: Any) -> tuple[list[dict[str, Any]], dict[str, str]]:
    """The SLA rows of the form (``row-N-field``; a row marked ``remove`` or with no hours
    is left out) and its mistakes, ``row-N-field`` → message key."""
    rows: list[dict[str, Any]] = []
    errors: dict[str, str] = {}
    numbers = sorted({int(k.split("-")[1]) for k in form if re.match(r"^row-\d+-", k)})
    for n in numbers:
        given = {f: str(form.get(f"row-{n}-{f}", "")).strip() for f in (*SLA_KEYS, "remove")}
        if given["remove"] or not (given["first_response_hours"] or given["resolution_hours"]):
            continue
        row: dict[str, Any] = {f: given[f] or "*" for f in ("department", "kind", "priority")}
        row["clock"] = "continuous" if given["clock"] == "continuous" else "business"
        for field in ("first_response_hours", "resolution_hours"):
            hours = _hours(given[field])
            row[field] = given[field] if hours is None else hours
            if hours is None:
                errors[f"row-{n}-{field}"] = "hours_positive"
        rows.append(row)
    return rows, errors


SLA_KEYS = ("department", "kind", "priority", "first_response_hours", "resolution_hours", "clock")


def _hours(text: str) -> float | None:
    """A positive number of hours, or None."""
    try:
        hours = float(text)
    except ValueError:
        return None
    return hours if hours > 0 else None


@router.post("/settings/sla")
async def save_sla(
    request: Request, runtime: RuntimeDep, viewer: Admin, names: NamesDep
) -> Response:
    """Save the SLA rows: a new version of the rules, checked whole, with an audit entry."""
    rows, errors = sla_rows(await request.form())
    if errors:
        return await _sla_page(request, runtime, viewer, names, rows, errors, status_code=422)
    clean = [
        {k: (int(v) if isinstance(v, float) and v.is_integer() else v) for k, v in r.items()}
        for r in rows
    ]
    try:
        text = rules_edit.edit_sla(await rules_edit.current_text(runtime), clean)
        await rules_edit.save(runtime, viewer, text, note="sla", ip=client_ip(request))
    except ConfigError as exc:
        return await _sla_page(request, runtime, viewer, names, rows, {}, str(exc), 422)
    return RedirectResponse("/settings/sla?done=1", status_code=303)
