"""Settings: canned replies in Arabic and English, with their placeholders and a preview.

Staff insert them in the reply box by typing ``/``; resolving a ticket sends the one
called ``resolved`` to every reporter who is not sent another text. Every save is audited.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from qanat.errors import NotFound
from qanat.outbound.replies import fill_placeholders
from qanat.store import audit, canned
from qanat.store.canned import PLACEHOLDERS, CannedDraft
from qanat.store.settings_tables import CannedReply
from qanat.web.auth import Admin, client_ip
from qanat.web.deps import RuntimeDep
from qanat.web.templating import page

router = APIRouter(include_in_schema=False)

#: What the preview fills the placeholders with.
SAMPLE = {"reference": "QN-2026-000123", "name_ar": "محمد", "name_en": "Mohammed"}


def preview(draft: CannedDraft) -> dict[str, str]:
    """The reply as a citizen would read it, in each language."""
    return {
        "ar": fill_placeholders(
            draft.text_ar, reference=SAMPLE["reference"], name=SAMPLE["name_ar"]
        ),
        "en": fill_placeholders(
            draft.text_en, reference=SAMPLE["reference"], name=SAMPLE["name_en"]
        ),
    }


@router.get("/settings/canned")
async def canned_page(request: Request, runtime: RuntimeDep, viewer: Admin) -> Response:
    """Every canned reply, the ones switched off too."""
    async with runtime.db.session() as session:
        replies = await canned.canned_replies(session, active_only=False)
    done = request.query_params.get("done")
    return page(request, "settings_canned.html", viewer=viewer, replies=replies, done=done)


def _form(
    request: Request,
    viewer: Any,
    *,
    draft: CannedDraft,
    reply_id: int | None,
    errors: dict[str, str],
    status_code: int = 200,
) -> Response:
    return page(
        request,
        "settings_canned_edit.html",
        viewer=viewer,
        draft=draft,
        reply_id=reply_id,
        errors=errors,
        preview=preview(draft),
        placeholders=PLACEHOLDERS,
        sample=SAMPLE,
        status_code=status_code,
    )


def _draft_of(reply: CannedReply) -> CannedDraft:
    return CannedDraft(
        reply.key, reply.name_ar, reply.name_en, reply.text_ar, reply.text_en, reply.active
    )


@router.get("/settings/canned/new")
async def new_canned(request: Request, viewer: Admin) -> Response:
    """An empty form for a new canned reply."""
    return _form(request, viewer, draft=CannedDraft("", "", "", "", ""), reply_id=None, errors={})


@router.get("/settings/canned/{reply_id}")
async def edit_canned(
    request: Request, runtime: RuntimeDep, viewer: Admin, reply_id: int
) -> Response:
    """One canned reply's form, with its preview."""
    async with runtime.db.session() as session:
        reply = await session.get(CannedReply, reply_id)
    if reply is None:
        raise NotFound(f"no canned reply {reply_id}")
    return _form(request, viewer, draft=_draft_of(reply), reply_id=reply_id, errors={})


Name = Annotated[str, Form(max_length=120)]
Body = Annotated[str, Form(max_length=5000)]
#: Fields are optional to FastAPI: an empty one is marked beside it, not a 400 page.


async def _save(
    request: Request, runtime: RuntimeDep, viewer: Admin, reply_id: int | None, draft: CannedDraft
) -> Response:
    errors = canned.check_draft(draft)
    async with runtime.db.writing() as session:
        existing = await session.get(CannedReply, reply_id) if reply_id else None
        if reply_id and existing is None:
            raise NotFound(f"no canned reply {reply_id}")
        if existing is not None:  # the key names the reply for good
            draft = CannedDraft(
                existing.key,
                draft.name_ar,
                draft.name_en,
                draft.text_ar,
                draft.text_en,
                draft.active,
            )
            errors = canned.check_draft(draft)
        elif "key" not in errors and await _key_taken(session, draft.key):
            errors["key"] = "canned_key_taken"
        if errors:
            return _form(
                request, viewer, draft=draft, reply_id=reply_id, errors=errors, status_code=422
            )
        saved = await canned.save_canned(session, draft=draft, reply_id=reply_id, by=viewer.actor)
        detail = {"key": saved.key, "active": saved.active}
        await audit.record(
            session, viewer=viewer, action="canned_saved", detail=detail, ip=client_ip(request)
        )
    return RedirectResponse(f"/settings/canned?done={saved.key}", status_code=303)


async def _key_taken(session: Any, key: str) -> bool:
    try:
        await canned.canned(session, key)
    except NotFound:
        return False
    return True


@router.post("/settings/canned")
async def add_canned(
    request: Request,
    runtime: RuntimeDep,
    viewer: Admin,
    key: Annotated[str, Form(max_length=60)] = "",
    name_ar: Name = "",
    name_en: Name = "",
    text_ar: Body = "",
    text_en: Body = "",
    active: Annotated[str, Form()] = "",
) -> Response:
    """Add a canned reply."""
    draft = CannedDraft(key.strip(), name_ar, name_en, text_ar, text_en, bool(active))
    return await _save(request, runtime, viewer, None, draft)


@router.post("/settings/canned/{reply_id}")
async def change_canned(
    request: Request,
    runtime: RuntimeDep,
    viewer: Admin,
    reply_id: int,
    name_ar: Name = "",
    name_en: Name = "",
    text_ar: Body = "",
    text_en: Body = "",
    active: Annotated[str, Form()] = "",
) -> Response:
    """Change a canned reply (its key stays)."""
    draft = CannedDraft("", name_ar, name_en, text_ar, text_en, bool(active))
    return await _save(request, runtime, viewer, reply_id, draft)
