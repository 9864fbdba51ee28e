"""The API's documentation at ``/docs``: Swagger UI from qanat's own files, nothing from
a CDN (a government network often has no internet), under a CSP that allows exactly the
page's own inline script. The OpenAPI document declares the bearer scheme API tokens use.

Swagger UI's files come from the ``fastapi-offline`` package (they are not copied into
qanat); they are served at ``/docs/assets``.
"""

from __future__ import annotations

import base64
import hashlib
import re
from pathlib import Path
from typing import Any

import fastapi_offline
from fastapi import APIRouter, FastAPI
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.openapi.utils import get_openapi
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

router = APIRouter(include_in_schema=False)

_INLINE_SCRIPT = re.compile(r"<script>(.*?)</script>", re.S)
#: Swagger UI's files as the package ships them.
ASSETS = Path(fastapi_offline.__file__).parent / "static"
ASSETS_URL = "/docs/assets"
#: How API clients authenticate: ``Authorization: Bearer <token>`` (tokens are made at
#: /admin/tokens); browsers use the session cookie and a CSRF header instead.
BEARER = {
    "type": "http",
    "scheme": "bearer",
    "description": "An API token (Settings → API tokens, or POST /api/tokens), limited to "
    "its scopes: read, write, submit, app.",
}


def docs_policy(html: str) -> str:
    """The CSP for ``html``: its inline scripts by hash, qanat's own files, nothing else."""
    hashes = " ".join(
        "'sha256-" + base64.b64encode(hashlib.sha256(body.encode()).digest()).decode() + "'"
        for body in _INLINE_SCRIPT.findall(html)
    )
    return (
        f"default-src 'none'; script-src 'self' {hashes}; style-src 'self'; "
        "img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'"
    )


@router.get("/docs")
async def swagger() -> HTMLResponse:
    """The interactive API documentation."""
    body = get_swagger_ui_html(
        openapi_url="/openapi.json",
        title="qanat API",
        swagger_js_url=f"{ASSETS_URL}/swagger-ui-bundle.js",
        swagger_css_url=f"{ASSETS_URL}/swagger-ui.css",
        swagger_favicon_url=f"{ASSETS_URL}/favicon.png",
        swagger_ui_parameters={"persistAuthorization": False},
    ).body
    html = bytes(body).decode()
    return HTMLResponse(html, headers={"Content-Security-Policy": docs_policy(html)})


def install(app: FastAPI) -> None:
    """Serve the documentation's files and declare the bearer scheme on every API route."""
    app.mount(ASSETS_URL, StaticFiles(directory=ASSETS), name="docs-assets")

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = get_openapi(
                title=app.title,
                version=app.version,
                routes=app.routes,
                description=app.description,
            )
            schema.setdefault("components", {})["securitySchemes"] = {"bearer": BEARER}
            for path, operations in schema.get("paths", {}).items():
                if path.startswith("/api/"):
                    for operation in operations.values():
                        operation["security"] = [{"bearer": []}]
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
