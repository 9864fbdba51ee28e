"""The ticket page's update panel: one submit for a reply or note, status, assignee,
department (with the reason), kind and priority.

:func:`read` takes the form; :func:`check` finds people's mistakes before anything is
changed (field → message key, shown beside the field); :func:`apply` makes the changes
through :mod:`qanat.web.work` in a fixed order (corrections, the text, the assignee, the
status, the move last since it may take the ticket out of the viewer's sight) and says
what was done as toasts. A step the store refuses stops the rest, with its field marked.
The form sends each field's value when the page was drawn (``*_was``): only what the
person changed is applied, so someone else's change meanwhile is not undone.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import cast

from starlette.datastructures import FormData
from starlette.exceptions import HTTPException

from qanat.errors import BadPayload, NotFound
from qanat.model import Kind, Priority, TicketStatus, Visibility
from qanat.runtime import Runtime
from qanat.store.access import Viewer
from qanat.store.tables import Ticket
from qanat.web import work
from qanat.web.auth import may

TEXT_LIMIT = 10_000
REASON_LIMIT = 2000
FIELDS = ("status", "assignee", "department", "kind", "priority")
_DONE = ("resolved", "closed")

#: What the store says when it refuses → the key of the words shown beside the field.
REFUSALS: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(pattern), key)
    for pattern, key in (
        (r"needs a reason", "error_reason_needed"),
        (r"^no department with code", "error_unknown_department"),
        (r"is already in", "error_same_department"),
        (r"does not work in the ticket's department|^no member of staff", "error_unknown_person"),
        (r"duplicate of itself", "error_self_duplicate"),
        (r"is not linked", "error_not_linked"),
        (r"no message from a citizen", "error_nothing_to_answer"),
        (r"needs some text", "error_text_needed"),
        (r"is not one of", "error_bad_choice"),
    )
)


@dataclass
class PanelInput:
    """What the panel sent: the text and its mode, and each field with its earlier value."""

    mode: str = "reply"
    text: str = ""
    visibility: str = ""
    reason: str = ""
    close_reason: str = ""
    values: dict[str, str] = field(default_factory=dict)
    was: dict[str, str] = field(default_factory=dict)

    def changed(self, name: str) -> bool:
        """True when the person changed field ``name``."""
        return name in self.values and self.values[name] != self.was.get(name, "")


def read(form: FormData) -> PanelInput:
    """The panel's form as a :class:`PanelInput` (missing fields are unchanged)."""

    def text(name: str) -> str:
        value = form.get(name, "")
        return value.strip() if isinstance(value, str) else ""

    values = {name: text(name) for name in FIELDS if name in form}
    was = {name: text(f"{name}_was") for name in FIELDS}
    mode = "note" if text("mode") == "note" else "reply"
    return PanelInput(
        mode, text("text"), text("visibility"), text("reason"), text("close_reason"), values, was
    )


def check(
    entry: PanelInput, *, ticket: Ticket, viewer: Viewer, departments: set[str]
) -> dict[str, str]:
    """People's mistakes, field → message key (empty: go ahead)."""
    errors: dict[str, str] = {}
    if len(entry.text) > TEXT_LIMIT:
        errors["text"] = "error_too_long"
    if entry.visibility not in ("", "public", "private") or (
        entry.visibility and ticket.channel != "x"
    ):
        errors["visibility"] = "error_bad_choice"
    for name, allowed in (("status", TicketStatus), ("kind", Kind), ("priority", Priority)):
        if entry.changed(name) and entry.values[name] not in {m.value for m in allowed}:
            errors[name] = "error_bad_choice"
    if entry.changed("status") and entry.values["status"] == "closed" and not entry.close_reason:
        errors["status"] = "error_reason_needed"
    if entry.changed("department"):
        if not may(viewer, "tickets.transfer"):
            errors["department"] = "error_not_allowed"
        elif entry.values["department"] not in departments:
            errors["department"] = "error_unknown_department"
        elif not entry.reason:
            errors["reason"] = "error_reason_needed"
        elif len(entry.reason) > REASON_LIMIT:
            errors["reason"] = "error_too_long"
    others = entry.changed("assignee") and entry.values["assignee"] != viewer.username
    if others and not may(viewer, "tickets.assign"):
        errors["assignee"] = "error_not_allowed"
    if not entry.text and not any(entry.changed(name) for name in FIELDS):
        errors["text"] = "error_nothing_to_do"
    return errors


def refusal_key(exc: Exception) -> str:
    """The words for a refusal from the store or the permissions."""
    if isinstance(exc, HTTPException) and exc.status_code == 403:
        return "error_not_allowed"
    if isinstance(exc, NotFound):
        return "error_not_found_reference"
    message = str(exc)
    return next((key for pattern, key in REFUSALS if pattern.search(message)), "error_failed")


@dataclass
class Outcome:
    """What :func:`apply` did: toasts (key, values) and, if a step was refused, where."""

    toasts: list[tuple[str, dict[str, str]]] = field(default_factory=list)
    errors: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Act:
    """One submit being applied: who, to which ticket, what they sent, what happened."""

    runtime: Runtime
    who: work.Request
    reference: str
    entry: PanelInput
    outcome: Outcome


async def apply(runtime: Runtime, who: work.Request, reference: str, entry: PanelInput) -> Outcome:
    """Make the changes in order; stop at the first the store refuses."""
    act = Act(runtime, who, reference, entry, Outcome())
    steps = (
        ("kind", _corrections),
        ("text", _text),
        ("assignee", _assignee),
        ("status", _status),
        ("department", _move),
    )
    for name, step in steps:
        try:
            await step(act)
        except (BadPayload, NotFound, HTTPException) as exc:
            act.outcome.errors[name] = refusal_key(exc)
            break
    return act.outcome


async def _corrections(act: Act) -> None:
    kind = act.entry.values["kind"] if act.entry.changed("kind") else None
    priority = act.entry.values["priority"] if act.entry.changed("priority") else None
    if kind or priority:
        await work.update(act.runtime, act.who, act.reference, kind=kind, priority=priority)
        act.outcome.toasts.append(("toast_changed", {}))


async def _text(act: Act) -> None:
    if not act.entry.text:
        return
    if act.entry.mode == "note":
        await work.note(act.runtime, act.who, act.reference, act.entry.text)
        act.outcome.toasts.append(("toast_note", {}))
        return
    resolving = act.entry.changed("status") and act.entry.values["status"] in _DONE
    if resolving:  # the text is the resolution message, to every reporter (_status sends it)
        return
    visibility = cast(Visibility, act.entry.visibility) if act.entry.visibility else None
    result = await work.reply(act.runtime, act.who, act.reference, act.entry.text, visibility)
    act.outcome.toasts.append((f"toast_reply_{result.state}", {}))


async def _assignee(act: Act) -> None:
    if not act.entry.changed("assignee"):
        return
    username = act.entry.values["assignee"] or None
    if username == act.who.viewer.username:
        await work.take(act.runtime, act.who, act.reference)
    else:
        await work.assign(act.runtime, act.who, act.reference, username)
    act.outcome.toasts.append(
        ("toast_assigned", {"person": username}) if username else ("toast_unassigned", {})
    )


async def _status(act: Act) -> None:
    if not act.entry.changed("status"):
        return
    status = act.entry.values["status"]
    message = act.entry.text if act.entry.mode == "reply" and status in _DONE else None
    reason = act.entry.close_reason or None
    await work.update(
        act.runtime, act.who, act.reference, status=status, resolution_text=message, reason=reason
    )
    if message:
        act.outcome.toasts.append(("toast_reply_sent", {}))
    act.outcome.toasts.append(("toast_status", {"status": status}))


async def _move(act: Act) -> None:
    if not act.entry.changed("department"):
        return
    department = act.entry.values["department"]
    await work.transfer(act.runtime, act.who, act.reference, department, act.entry.reason)
    act.outcome.toasts.append(("toast_transferred", {"department": department}))
