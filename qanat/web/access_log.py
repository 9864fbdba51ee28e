"""One log line per request: method, path, status, time taken — and the error, if any.

The query string and the client's address are left out: a search or a status lookup can
carry a citizen's words or number, and an address is theirs too.
"""

from __future__ import annotations

import logging
import time

from starlette.types import ASGIApp, Message, Receive, Scope, Send

log = logging.getLogger("qanat.web.access")


class AccessLog:
    """ASGI middleware writing ``GET /inbox 200 12ms`` for each HTTP request (with
    ``every_request`` off, only for those that end in a server error)."""

    def __init__(self, app: ASGIApp, *, every_request: bool = True) -> None:
        self.app = app
        self.every_request = every_request

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Pass the request on, then log how it ended."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def remember_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, remember_status)
        except Exception as exc:
            log.error(
                "%s %s 500 %.0fms %s",
                scope["method"],
                scope["path"],
                (time.perf_counter() - started) * 1000,
                type(exc).__name__,
            )
            raise
        level = logging.WARNING if status >= 500 else logging.INFO
        if level == logging.INFO and not self.every_request:
            return
        log.log(
            level,
            "%s %s %d %.0fms",
            scope["method"],
            scope["path"],
            status,
            (time.perf_counter() - started) * 1000,
        )
