"""The outer edge of every request: URLs qanat will not read, and errors nobody handled.

- A path or query with a NUL character or bytes that are not UTF-8 is refused with 400
  before any route sees it (PostgreSQL cannot hold a NUL; nothing qanat serves needs one).
- An exception no handler took becomes a plain 500 ("internal error" and an id to quote)
  — never a stack trace, SQL or the request's data — and one log line with the error's
  class and where it was raised (see :mod:`qanat.logs`).
"""

from __future__ import annotations

import json
import logging
import secrets
from urllib.parse import unquote_to_bytes

from starlette.types import ASGIApp, Message, Receive, Scope, Send

log = logging.getLogger(__name__)


def url_problem(path: str, query: bytes) -> str | None:
    """Why a request's URL is refused, or None when it is fine."""
    if "\x00" in path:
        return "the path contains a NUL character"
    decoded = unquote_to_bytes(query.replace(b"+", b" "))
    if b"\x00" in decoded:
        return "the query contains a NUL character"
    try:
        decoded.decode("utf-8")
    except UnicodeDecodeError:
        return "the query is not UTF-8"
    return None


async def _answer(send: Send, status: int, detail: str, headers: list[tuple[bytes, bytes]]) -> None:
    body = json.dumps({"detail": detail}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                *headers,
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


class RequestGuard:
    """ASGI middleware: refuses unreadable URLs, and turns unhandled errors into a bare 500."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Check the URL, then run the app with a net under it."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        problem = url_problem(scope.get("path", ""), scope.get("query_string", b""))
        if problem is not None:
            await _answer(send, 400, problem, [])
            return
        started = False

        async def watched(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, watched)
        except Exception:
            incident = secrets.token_hex(6)
            log.error("unhandled error, incident %s", incident, exc_info=True)
            if not started:
                detail = f"internal error (incident {incident})"
                await _answer(send, 500, detail, [(b"x-qanat-incident", incident.encode())])
