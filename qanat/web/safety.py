"""Showing what citizens send without letting it act: sanitized HTML, bidi-safe names, CSP.

- Email HTML goes through ``nh3`` (no script, no event handlers, no forms, no styles);
  remote images lose their address unless staff ask to load them.
- Names and subjects lose bidi override characters, so ``‮gpj.exe`` cannot pose as
  ``exe.jpg``, and are isolated in ``<bdi>`` so they cannot reorder what is around them.
- Every response carries a strict Content-Security-Policy: scripts and styles only from
  qanat's own static files, no inline script, no framing.
"""

from __future__ import annotations

import re
from collections.abc import Callable

import nh3
from markupsafe import Markup
from starlette.types import ASGIApp, Message, Receive, Scope, Send

#: Bidi embedding / override / isolate controls (U+202A–U+202E, U+2066–U+2069).
BIDI_CONTROLS = re.compile("[\u202a-\u202e\u2066-\u2069]")

#: Tags nh3 allows by default, minus the ones that can disguise or link out oddly.
EMAIL_TAGS = set(nh3.ALLOWED_TAGS) - {"bdo", "map", "area"}
#: Image types shown inline when embedded as ``data:`` (never SVG: it can carry script).
INLINE_IMAGE_TYPES = ("data:image/png", "data:image/jpeg", "data:image/gif", "data:image/webp")

#: The policy for every page. ``img-src`` widens to https only when staff load images.
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:{images}; "
    "connect-src 'self'; font-src 'self'; form-action 'self'; frame-ancestors 'none'; "
    "base-uri 'none'"
)


def strip_bidi(text: str | None) -> str:
    """``text`` without bidi embedding, override and isolate controls."""
    return BIDI_CONTROLS.sub("", text or "")


def bdi(text: str | None) -> Markup:
    """A name or subject for display: escaped, bidi controls removed, isolated."""
    return Markup('<bdi dir="auto">{}</bdi>').format(strip_bidi(text))


def _keep_attribute(load_images: bool) -> Callable[[str, str, str], str | None]:
    def keep(tag: str, attribute: str, value: str) -> str | None:
        if tag == "img" and attribute == "src":
            if value.startswith(INLINE_IMAGE_TYPES):
                return value
            if load_images and value.startswith("https://"):
                return value
            return None
        if attribute == "href" and not value.startswith(("https://", "http://", "mailto:")):
            return None
        return value

    return keep


def sanitize_email_html(html: str, *, load_images: bool = False) -> Markup:
    """Email HTML safe to put in a page: no script, handlers, forms, styles or remote loads."""
    cleaned = nh3.clean(
        html,
        tags=EMAIL_TAGS,
        clean_content_tags={"script", "style", "title", "head"},
        attribute_filter=_keep_attribute(load_images),
        url_schemes={"http", "https", "mailto", "data"},
        link_rel="noopener noreferrer nofollow",
        set_tag_attribute_values={"a": {"target": "_blank"}},
    )
    return Markup(cleaned)


def has_remote_images(html: str | None) -> bool:
    """True when an email's HTML refers to images on other servers (shown only on request)."""
    return (
        bool(html)
        and re.search(r"<img[^>]+src\s*=\s*['\"]?https?://", html or "", re.I) is not None
    )


def security_headers(path: str, query: str) -> list[tuple[bytes, bytes]]:
    """CSP and the other protective headers for a response to ``path``."""
    remote_images = "images=1" in query.split("&")
    headers = [
        (
            b"content-security-policy",
            CSP.format(images=" https:" if remote_images else "").encode(),
        ),
        (b"x-content-type-options", b"nosniff"),
        (b"x-frame-options", b"DENY"),
        (b"referrer-policy", b"same-origin"),
        (b"cross-origin-opener-policy", b"same-origin"),
    ]
    if not path.startswith("/static/"):
        # Pages and API answers hold citizens' personal data: never kept by any cache.
        headers.append((b"cache-control", b"no-store"))
    return headers


class SecurityHeaders:
    """ASGI middleware adding :func:`security_headers` to every HTTP response.

    A route that sets its own ``Content-Security-Policy`` (the API docs page) keeps it.
    Pure ASGI, so streamed responses (server-sent events) pass through untouched.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        extra = security_headers(scope["path"], scope.get("query_string", b"").decode("latin-1"))

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {name.lower() for name, _ in headers}
                headers += [(name, value) for name, value in extra if name not in present]
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)
