"""A fake Twilio Messages API on 127.0.0.1: records what qanat sends, or fails on demand."""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import parse_qsl

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route


@dataclass
class FakeTwilio:
    """What was sent (form fields), and how many sends to answer 503 first."""

    sent: list[dict[str, str]] = field(default_factory=list)
    failures: int = 0
    tries: int = 0
    #: Message SIDs handed out; never reset, so a SID is never given twice.
    issued: int = 0

    def reset(self) -> None:
        """Forget what was sent; succeed again."""
        self.sent.clear()
        self.failures = self.tries = 0

    def app(self) -> Starlette:
        """The ASGI app answering ``POST /2010-04-01/Accounts/{sid}/Messages.json``."""

        async def messages(request: Request) -> Response:
            self.tries += 1
            if self.failures:
                self.failures -= 1
                return JSONResponse({"message": "Service Unavailable"}, status_code=503)
            form = dict(parse_qsl((await request.body()).decode(), keep_blank_values=True))
            self.sent.append(form)
            self.issued += 1
            sid = f"SMout{self.issued}"
            return JSONResponse({"sid": sid, "status": "queued"}, status_code=201)

        path = "/2010-04-01/Accounts/{sid}/Messages.json"
        return Starlette(routes=[Route(path, messages, methods=["POST"])])
