"""OpenAPI docs at ``/docs`` under a CSP that allows exactly the page's own inline script.

FastAPI's Swagger page loads its bundle from a CDN and starts it with an inline
script; rather than loosen the policy for everything, this page's CSP names the CDN
and the sha256 of that one script.
"""

from __future__ import annotations

import base64
import hashlib
import re

from fastapi import APIRouter, Request
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse

router = APIRouter(include_in_schema=False)

_INLINE_SCRIPT = re.compile(r"<script>(.*?)</script>", re.S)
SWAGGER_CDN = "https://cdn.jsdelivr.net"


def docs_policy(html: str) -> str:
    """The CSP for ``html``: its inline scripts by hash, the CDN, nothing else."""
    hashes = " ".join(
        "'sha256-" + base64.b64encode(hashlib.sha256(body.encode()).digest()).decode() + "'"
        for body in _INLINE_SCRIPT.findall(html)
    )
    return (
        f"default-src 'none'; script-src {SWAGGER_CDN} {hashes}; style-src {SWAGGER_CDN}; "
        f"img-src 'self' data: https://fastapi.tiangolo.com; connect-src 'self'; "
        "frame-ancestors 'none'; base-uri 'none'"
    )


@router.get("/docs")
async def swagger(request: Request) -> HTMLResponse:
    """The interactive API documentation."""
    body = get_swagger_ui_html(openapi_url="/openapi.json", title="qanat API").body
    html = bytes(body).decode()
    return HTMLResponse(html, headers={"Content-Security-Policy": docs_policy(html)})
