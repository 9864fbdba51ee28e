"""Editing the routing rules from the settings pages: the text in force, changes to one
department or to the SLA rows (comments and order kept, through ruamel.yaml's round
trip), the same check as ``qanat router check``, and saving a new version with an audit
entry. The YAML stays the import/export format (``qanat rules import`` / ``export``).
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import Any

from ruamel.yaml import YAML
from sqlalchemy import update
from sqlmodel import col

from qanat.errors import ConfigError
from qanat.router.rules import SAMPLE_RULES, RoutingRules, parse_rules
from qanat.runtime import Runtime
from qanat.store import audit, queries, rules_versions
from qanat.store.access import Viewer
from qanat.store.tables import Department


def _yaml() -> YAML:
    handler = YAML()  # round trip: comments, order and flow style are kept
    handler.width = 120
    handler.preserve_quotes = True
    return handler


async def current_text(runtime: Runtime) -> str:
    """The rules text in force: the newest saved version, else the rules file."""
    async with runtime.db.session() as session:
        newest = await rules_versions.latest(session)
    if newest is not None:
        return newest.text
    path = runtime.rules_source.path if runtime.rules_source else runtime.settings.rules_file
    return (path or SAMPLE_RULES).read_text(encoding="utf-8")


def check(runtime: Runtime, text: str) -> RoutingRules:
    """The rules ``text`` checked as ``qanat router check`` does (:class:`ConfigError`
    names the line of the first problem)."""
    source = runtime.rules_source
    base = source.path.parent if source is not None else None
    return parse_rules(text, "rules", base=base)


def _load(text: str) -> Any:
    return _yaml().load(text)


def _dump(document: Any) -> str:
    buffer = io.StringIO()
    _yaml().dump(document, buffer)
    return buffer.getvalue()


@dataclass(frozen=True)
class DepartmentEdit:
    """What the department form changes."""

    name_ar: str
    name_en: str
    email: str | None
    working_hours: str
    assignment: str


def edit_department(text: str, code: str, change: DepartmentEdit) -> str:
    """``text`` with department ``code``'s names, address, hours and assignment changed."""
    document = _load(text)
    for entry in document.get("departments") or []:
        if entry.get("code") == code:
            entry["name_ar"], entry["name_en"] = change.name_ar, change.name_en
            entry["working_hours"] = change.working_hours
            entry["assignment"] = change.assignment
            if change.email:
                entry["email"] = change.email
            elif "email" in entry:
                del entry["email"]
            return _dump(document)
    raise ConfigError(f"rules:1: no department {code!r}")


#: The fields of one SLA row, as the rules file writes them.
SLA_FIELDS = ("department", "kind", "priority", "first_response_hours", "resolution_hours", "clock")


def edit_sla(text: str, rows: list[dict[str, Any]]) -> str:
    """``text`` with its ``sla:`` rows replaced by ``rows`` (each a flow mapping)."""
    from ruamel.yaml.comments import CommentedMap, CommentedSeq

    document = _load(text)
    table = CommentedSeq()
    for row in rows:
        entry = CommentedMap((k, row[k]) for k in SLA_FIELDS if k in row and row[k] is not None)
        if entry.get("clock") == "business":
            del entry["clock"]  # the default
        entry.fa.set_flow_style()
        table.append(entry)
    document["sla"] = table
    return _dump(document)


async def save(
    runtime: Runtime,
    viewer: Viewer | None,
    text: str,
    *,
    note: str,
    ip: str | None,
    actor: str | None = None,
) -> RoutingRules:
    """Check and keep ``text`` as the rules version in force, in this process at once
    (others within a minute), with the departments' names and addresses in the store and
    an audit entry (by ``viewer``, or ``actor`` for a command); :class:`ConfigError` when
    it does not check (nothing saved)."""
    by = viewer.actor if viewer is not None else (actor or "cli")
    rules = check(runtime, text)
    async with runtime.db.writing() as session:
        row = await rules_versions.save(
            session, text=text, version=rules.version, by=by, note=note or None
        )
        await queries.sync_departments(
            session,
            departments=[(d.code, d.name_en, d.name_ar, d.email) for d in rules.departments],
        )
        for department in rules.departments:
            await session.execute(
                update(Department)
                .where(col(Department.code) == department.code)
                .values(
                    name_ar=department.name_ar, name_en=department.name_en, email=department.email
                )
            )
        detail = {"version": rules.version, "rules_version_id": row.id, "note": note or None}
        await audit.record(
            session, viewer=viewer, action="rules_saved", detail=detail, ip=ip, actor=by
        )
    await runtime.refresh_rules()
    return rules
