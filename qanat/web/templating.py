"""Server-rendered pages: one Jinja2 environment (autoescaping everything) and ``page()``."""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, StrictUndefined

from qanat.store.access import Viewer
from qanat.store.tables import utcnow
from qanat.web import explain, i18n, safety
from qanat.web.auth import csrf_of, may
from qanat.web.deadlines import deadlines
from qanat.web.deps import runtime_of
from qanat.web.names import Names

TEMPLATES = Path(__file__).parent / "templates"
STATIC = Path(__file__).parent / "static"
#: Cookie remembering the language chosen on the log-in page (before anyone is known).
LANGUAGE_COOKIE = "qanat_lang"


@cache
def environment() -> Environment:
    """The Jinja2 environment: autoescape on for every template, unknown names are errors."""
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=True,
        trim_blocks=True,
        lstrip_blocks=True,
        undefined=StrictUndefined,
    )
    env.filters["bdi"] = safety.bdi
    env.filters["nobidi"] = safety.strip_bidi
    env.filters["isolated"] = i18n.isolated
    env.filters["readable"] = readable_json
    env.globals["static"] = static_url
    return env


def readable_json(value: Any) -> str:
    """JSON as people read it: Arabic as Arabic (not ``\\u0627`` escapes), indented."""
    return json.dumps(value, ensure_ascii=False, indent=1, sort_keys=True, default=str)


@cache
def _static_version() -> str:
    # Changes whenever a static file changes, so browsers never keep a stale script.
    digest = hashlib.sha256()
    for path in sorted(STATIC.glob("*")):
        digest.update(path.name.encode() + path.read_bytes())
    return digest.hexdigest()[:10]


def static_url(name: str) -> str:
    """The address of a static file, versioned by content."""
    return f"/static/{name}?v={_static_version()}"


def formatter(tz: ZoneInfo) -> Any:
    """``when(moment)``: a timestamp (or an event's ISO 8601 text) in the body's local
    time, as staff read it."""

    def when(moment: datetime | str | None, pattern: str = "%Y-%m-%d %H:%M") -> str:
        if isinstance(moment, str):
            moment = datetime.fromisoformat(moment)
        return moment.astimezone(tz).strftime(pattern) if moment else ""

    return when


def language_for(request: Request, viewer: Viewer | None) -> str:
    """The page language: the viewer's own, else ``?lang=`` or the cookie, else Arabic."""
    if viewer is not None:
        return i18n.language_of(viewer.language)
    asked = request.query_params.get("lang") or request.cookies.get(LANGUAGE_COOKIE)
    return i18n.language_of(asked)


def page(
    request: Request,
    template: str,
    *,
    viewer: Viewer | None,
    status_code: int = 200,
    **context: Any,
) -> HTMLResponse:
    """Render ``template`` with what every page needs: language, direction, CSRF, viewer,
    and names instead of codes (hand in ``names``, a :class:`~qanat.web.names.Names`)."""
    html = render(request, template, viewer=viewer, **context)
    return HTMLResponse(html, status_code=status_code)


def render(request: Request, template: str, *, viewer: Viewer | None, **context: Any) -> str:
    """``template`` as text, with :func:`page`'s context (for parts of a page sent alone)."""
    language = language_for(request, viewer)
    settings = runtime_of(request).settings
    names: Names = context.pop("names", None) or Names()
    now = utcnow()
    t = i18n.translator(language)

    def v(value: str | None) -> str:
        return i18n.value_name(language, value)

    values = {
        "request": request,
        "viewer": viewer,
        "lang": language,
        "dir": i18n.direction_of(language),
        "t": t,
        "v": v,
        **explain.template_helpers(language, names, t, v),
        "now": now,
        "deadlines": lambda ticket: deadlines(ticket, now),
        "deadline": lambda ticket, clock: next(
            (d for d in deadlines(ticket, now) if d.clock == clock), None
        ),
        "csrf": csrf_of(request),
        "when": formatter(settings.tz),
        "may": (lambda permission: may(viewer, permission)) if viewer else (lambda _p: False),
        "path": request.url.path,
        **context,
    }
    return environment().get_template(template).render(values)
