"""The ticket page's forms (CSRF-checked): the update panel, link and unlink, merges and
replies delivered by hand.

A form sent by the page's script (``Accept: application/json``) gets JSON: what was done
(toasts in the viewer's language), the mistakes beside their fields, and the page's parts
drawn again, so the page changes without a reload. Without the script, the browser goes
back to the ticket (303) or sees the ticket page again with the mistakes marked (422):
never a bare error page for a person's mistake.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from sqlmodel import col, select
from starlette.exceptions import HTTPException

from qanat.errors import BadPayload, NotFound
from qanat.store.access import Viewer, visible_ticket
from qanat.store.tables import Department
from qanat.web import i18n, panel, work
from qanat.web.auth import Reader
from qanat.web.deps import RowId, RuntimeDep
from qanat.web.names import Names, NamesDep
from qanat.web.templating import language_for, page, render
from qanat.web.ticket_field import ticket_extras
from qanat.web.ticket_pages import mail_view, ticket_context
from qanat.web.work import who

router = APIRouter(include_in_schema=False)

Toast = tuple[str, dict[str, str]]
#: The parts of the ticket page sent back after a change, by the id of their container.
PARTS = {"ticket-head": "_ticket_head.html", "timeline": "_timeline.html",
         "side": "_ticket_side.html", "panel": "_panel.html",
         "suggestions": "_ticket_suggestions.html"}  # fmt: skip


def wants_json(request: Request) -> bool:
    """True when the page's script sent the form (it asks for JSON)."""
    return "application/json" in request.headers.get("accept", "")


def toast_text(toast: Toast, *, language: str, names: Names) -> str:
    """A toast in ``language``, names instead of codes."""
    key, values = toast
    said = dict(values)
    if "person" in said:
        said["person"] = names.person(said["person"])
    if "department" in said:
        said["department"] = names.department(language, said["department"])
    if "status" in said:
        said["status"] = i18n.value_name(language, said["status"])
    if "reference" in said:
        said["reference"] = i18n.isolated(said["reference"])
    return i18n.translator(language)(key, **said)


async def answer(
    request: Request,
    runtime: RuntimeDep,
    viewer: Viewer,
    names: Names,
    reference: str,
    *,
    toasts: list[Toast],
    errors: dict[str, str] | None = None,
    entry: panel.PanelInput | None = None,
    as_json: bool = False,
) -> Response:
    """The answer to a ticket form: JSON for the script, else a redirect or the page."""
    errors = errors or {}
    as_json = as_json or wants_json(request)
    async with runtime.db.session() as session:
        try:
            ticket = await visible_ticket(session, viewer=viewer, reference=reference)
        except NotFound:  # moved out of the viewer's sight (a transfer): back to the list
            ticket = None
        context = await ticket_context(session, ticket, viewer) if ticket else {}
        if ticket is not None:  # the side's inspections and federation, drawn again too
            context |= await ticket_extras(session, runtime, ticket, viewer)
    language = language_for(request, viewer)
    said = [toast_text(toast, language=language, names=names) for toast in toasts]
    if ticket is None:
        target = f"/inbox?transferred={reference}"
        if as_json:
            return JSONResponse({"ok": not errors, "toasts": said, "redirect": target})
        return RedirectResponse(target, status_code=303)
    if not as_json:
        if not errors:
            done = ",".join(key for key, _values in toasts)
            return RedirectResponse(f"/tickets/{reference}?done={done}", status_code=303)
        kept = {"entry_text": entry.text, "entry_reason": entry.reason} if entry else {}
        context |= {"errors": errors, **kept, "last_event": 0}
        return page(request, "ticket.html", viewer=viewer, names=names, status_code=422,
                    **context, **mail_view(False))  # fmt: skip
    t = i18n.translator(language)
    parts = {
        part: render(request, template, viewer=viewer, names=names, **context, **mail_view(False))
        for part, template in PARTS.items()
        if not errors or part != "panel"  # keep what the person typed to fix it
    }
    return JSONResponse(
        {
            "ok": not errors,
            "toasts": said,
            "errors": {field: t(key) for field, key in errors.items()},
            "parts": parts,
        },
        status_code=200 if not errors else 422,
    )


@router.post("/tickets/{reference}/update")
async def update(
    request: Request, runtime: RuntimeDep, viewer: Reader, names: NamesDep, reference: str
) -> Response:
    """The panel: a reply or note, status, assignee, department with reason, kind, priority."""
    entry = panel.read(await request.form())
    async with runtime.db.session() as session:
        ticket = await visible_ticket(session, viewer=viewer, reference=reference)
        codes = set((await session.execute(select(col(Department.code)))).scalars())
    errors = panel.check(entry, ticket=ticket, viewer=viewer, departments=codes)
    if errors:
        return await answer(request, runtime, viewer, names, reference, toasts=[],
                            errors=errors, entry=entry)  # fmt: skip
    outcome = await panel.apply(runtime, who(request, viewer), reference, entry)
    return await answer(request, runtime, viewer, names, reference, toasts=outcome.toasts,
                        errors=outcome.errors, entry=entry)  # fmt: skip


async def _one_action(
    request: Request,
    runtime: RuntimeDep,
    viewer: Viewer,
    names: Names,
    reference: str,
    action: Any,
    *,
    field: str,
    toast: Toast,
) -> Response:
    """Run one action on a ticket the viewer sees (else 404); a refusal is shown beside
    ``field``."""
    async with runtime.db.session() as session:
        try:
            await visible_ticket(session, viewer=viewer, reference=reference)
        except NotFound:
            action.close()  # never started
            raise
    try:
        await action
    except (BadPayload, NotFound, HTTPException) as exc:
        errors = {field: panel.refusal_key(exc)}
        return await answer(request, runtime, viewer, names, reference, toasts=[], errors=errors)
    return await answer(request, runtime, viewer, names, reference, toasts=[toast])


Reference = Annotated[str, Form(max_length=30)]
Reason = Annotated[str, Form(max_length=2000)]


@router.post("/tickets/{reference}/link")
async def link(
    request: Request,
    runtime: RuntimeDep,
    viewer: Reader,
    names: NamesDep,
    reference: str,
    primary_reference: Reference,
) -> Response:
    """Link as a duplicate of another ticket (a wrong reference is marked, not a 404)."""
    primary = primary_reference.strip().upper()
    action = work.link(runtime, who(request, viewer), reference, primary)
    return await _one_action(request, runtime, viewer, names, reference, action,
                             field="primary_reference",
                             toast=("toast_linked", {"reference": primary}))  # fmt: skip


@router.post("/tickets/{reference}/suggestion/dismiss")
async def dismiss_suggestion(
    request: Request, runtime: RuntimeDep, viewer: Reader, names: NamesDep, reference: str
) -> Response:
    """Staff say the possible duplicate dedupe suggested is another problem."""
    action = work.dismiss_suggestion(runtime, who(request, viewer), reference)
    return await _one_action(request, runtime, viewer, names, reference, action,
                             field="form", toast=("toast_suggestion_dismissed", {}))  # fmt: skip


@router.post("/tickets/{reference}/unlink")
async def unlink(
    request: Request,
    runtime: RuntimeDep,
    viewer: Reader,
    names: NamesDep,
    reference: str,
    reason: Reason = "",
) -> Response:
    """Make a duplicate independent, saying why (the page asks before it sends)."""
    if not reason.strip():
        errors = {"reason": "error_reason_needed"}
        return await answer(request, runtime, viewer, names, reference, toasts=[], errors=errors)
    action = work.unlink(runtime, who(request, viewer), reference, reason.strip())
    return await _one_action(request, runtime, viewer, names, reference, action,
                             field="reason", toast=("toast_unlinked", {}))  # fmt: skip


@router.post("/tickets/{reference}/replies/{message_id}/delivered")
async def delivered(
    request: Request,
    runtime: RuntimeDep,
    viewer: Reader,
    names: NamesDep,
    reference: str,
    message_id: RowId,
) -> Response:
    """Mark a by-hand reply delivered."""
    action = work.delivered(runtime, who(request, viewer), reference, message_id)
    return await _one_action(request, runtime, viewer, names, reference, action,
                             field="form", toast=("toast_delivered", {}))  # fmt: skip


@router.post("/tickets/{reference}/merge-contact")
async def merge_contact(
    request: Request,
    runtime: RuntimeDep,
    viewer: Reader,
    names: NamesDep,
    reference: str,
    other: Reference,
) -> Response:
    """Merge another ticket's citizen into this one's."""
    action = work.merge_contact(runtime, who(request, viewer), reference, other)
    return await _one_action(request, runtime, viewer, names, reference, action,
                             field="other", toast=("toast_merged", {}))  # fmt: skip


@router.post("/tickets/{reference}/unmerge-contact")
async def unmerge_contact(
    request: Request,
    runtime: RuntimeDep,
    viewer: Reader,
    names: NamesDep,
    reference: str,
    merge_id: Annotated[int, Form()],
) -> Response:
    """Undo a contact merge."""
    action = work.unmerge_contact(runtime, who(request, viewer), reference, merge_id)
    return await _one_action(request, runtime, viewer, names, reference, action,
                             field="form", toast=("toast_unmerged", {}))  # fmt: skip


@router.get("/tickets/{reference}/parts")
async def parts(
    request: Request, runtime: RuntimeDep, viewer: Reader, names: NamesDep, reference: str
) -> Response:
    """The ticket page's parts drawn again (after a change made with the keyboard)."""
    async with runtime.db.session() as session:
        await visible_ticket(session, viewer=viewer, reference=reference)
    return await answer(request, runtime, viewer, names, reference, toasts=[], as_json=True)
