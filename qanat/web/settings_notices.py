"""Settings: what qanat tells citizens by itself — each kind of notice in Arabic and
English, its placeholders, a preview, and how long it is on SMS and X.

Saving checks the placeholders (only those of the kind) and is audited; an empty text
goes back to the wording qanat ships. The quiet hours per channel are shown here; they
are set with ``QANAT_NOTICE_QUIET_HOURS``.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from qanat.errors import BadPayload, NotFound
from qanat.ingest.sms.gateways import sms_segments
from qanat.store import audit, notices
from qanat.web.auth import Admin, client_ip
from qanat.web.deps import RuntimeDep
from qanat.web.settings_pages import SECTIONS, Section
from qanat.web.templating import page

router = APIRouter(include_in_schema=False)
SECTIONS.append(Section("/settings/notices", "citizen_notices", "hint_notices"))

#: What the preview fills the placeholders with, in each language.
SAMPLE: dict[str, dict[str, str]] = {
    "ar": {
        "reference": "QN-2026-000123",
        "what": "بلاغك",
        "department": "إدارة الطرق",
        "expected": "خلال يومي عمل",
        "needed": "صورة للموقع.",
        "body": "وزارة الكهرباء والماء",
        "resolution": "تم ردم الحفرة وإعادة الرصف.",
    },
    "en": {
        "reference": "QN-2026-000123",
        "what": "your report",
        "department": "Roads",
        "expected": "within 2 working days",
        "needed": "a photo of the place.",
        "body": "the Electricity and Water Authority",
        "resolution": "The pothole was filled and the road resurfaced.",
    },
}
#: X counts most scripts (Arabic too) one per character and emoji and CJK two.
X_LIMIT = 280
_X_LIGHT = ((0, 4351), (8192, 8205), (8208, 8223), (8242, 8247))


def x_length(text: str) -> int:
    """The length X counts for ``text`` (its weighted characters; links not shortened)."""
    return sum(1 if any(low <= ord(char) <= high for low, high in _X_LIGHT) else 2 for char in text)


def measure(text: str) -> dict[str, Any]:
    """How long a notice is where length matters: SMS parts, X's count."""
    encoding, parts = sms_segments(text)
    return {
        "sms_parts": parts,
        "sms_encoding": encoding,
        "x_length": x_length(text),
        "x_over": x_length(text) > X_LIMIT,
    }


def preview(kind: str, texts: dict[str, str]) -> dict[str, dict[str, Any]]:
    """Each language's notice as a citizen would read it, and its lengths."""
    shown = {}
    for language in ("ar", "en"):
        text = notices.render(texts.get(language, ""), SAMPLE[language])
        shown[language] = {"text": text, **measure(text)}
    return shown


def _kind(kind: str) -> str:
    if kind not in notices.KINDS:
        raise NotFound(f"no kind of notice {kind!r}")
    return kind


@router.get("/settings/notices")
async def notices_page(request: Request, runtime: RuntimeDep, viewer: Admin) -> Response:
    """Every kind of notice, its wording in force, and the quiet hours."""
    async with runtime.db.session() as session:
        wording = await notices.templates(session)
    quiet = notices.parse_quiet_hours(runtime.settings.notice_quiet_hours)
    return page(
        request,
        "settings_notices.html",
        viewer=viewer,
        kinds=notices.KINDS,
        wording=wording,
        quiet=quiet,
        enabled=runtime.settings.notices,
        survey_delay=runtime.settings.survey_delay_hours,
        done=request.query_params.get("done"),
    )


def _form(
    request: Request,
    viewer: Any,
    *,
    kind: str,
    texts: dict[str, str],
    errors: dict[str, str],
    status_code: int = 200,
) -> Response:
    return page(
        request,
        "settings_notice_edit.html",
        viewer=viewer,
        kind=kind,
        texts=texts,
        defaults=notices.DEFAULTS[kind],
        errors=errors,
        preview=preview(kind, texts),
        placeholders=notices.PLACEHOLDERS[kind],
        x_limit=X_LIMIT,
        status_code=status_code,
    )


@router.get("/settings/notices/{kind}")
async def edit_notice(request: Request, runtime: RuntimeDep, viewer: Admin, kind: str) -> Response:
    """One kind's wording in both languages, with its placeholders and preview."""
    kind = _kind(kind)
    async with runtime.db.session() as session:
        texts = (await notices.templates(session))[kind]
    return _form(request, viewer, kind=kind, texts=texts, errors={})


Body = Annotated[str, Form(max_length=2000)]


@router.post("/settings/notices/{kind}")
async def save_notice(
    request: Request,
    runtime: RuntimeDep,
    viewer: Admin,
    kind: str,
    text_ar: Body = "",
    text_en: Body = "",
    preview_only: Annotated[str, Form()] = "",
) -> Response:
    """Save one kind's wording (an empty text: the default again), or only preview it."""
    kind = _kind(kind)
    texts = {
        "ar": text_ar.strip() or notices.DEFAULTS[kind]["ar"],
        "en": text_en.strip() or notices.DEFAULTS[kind]["en"],
    }
    errors: dict[str, str] = {}
    for language, text in texts.items():
        try:
            notices.check_template(kind, text)
        except BadPayload as exc:
            unknown = "is not a placeholder" in str(exc)
            errors[f"text_{language}"] = "placeholder_unknown" if unknown else "field_required"
    if errors or preview_only:
        code = 422 if errors else 200
        return _form(request, viewer, kind=kind, texts=texts, errors=errors, status_code=code)
    async with runtime.db.writing() as session:
        for language, text in texts.items():
            await notices.save_template(
                session, kind=kind, language=language, text=text, by=viewer.actor
            )
        await audit.record(
            session,
            viewer=viewer,
            action="notice_template_saved",
            detail={"kind": kind},
            ip=client_ip(request),
        )
    return RedirectResponse(f"/settings/notices?done={kind}", status_code=303)
