"""A fake Telegram Bot API: getMe, getUpdates, getFile, file downloads, sendMessage, setWebhook.

It answers in the Bot API's own JSON shapes (``{"ok": true, "result": …}`` and
``{"ok": false, "error_code": …, "description": …}``), reads parameters the way the
real server does (query string, form, multipart or JSON body; method names
case-insensitive), and records every call so tests can assert what qanat sent.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

BOT = {
    "id": 7012345678,
    "is_bot": True,
    "first_name": "وزارة الأشغال",
    "username": "works_ministry_bot",
    "can_join_groups": False,
    "can_read_all_group_messages": False,
    "supports_inline_queries": False,
}


@dataclass
class FakeBotApi:
    """The fake's state: queued updates, files, sent messages, calls, injected failures."""

    token: str = "7012345678:AAFakeTokenForTestsOnly_abcdefghijk"
    updates: list[dict[str, Any]] = field(default_factory=list)
    files: dict[str, bytes] = field(default_factory=dict)
    sent: list[dict[str, Any]] = field(default_factory=list)
    calls: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    failures: list[int] = field(default_factory=list)  # statuses for the next getUpdates
    next_message_id: int = 1000
    clock: int = 1793600000
    webhook: dict[str, Any] = field(default_factory=dict)

    def reset(self) -> None:
        """Forget everything (between tests)."""
        self.updates.clear()
        self.files.clear()
        self.sent.clear()
        self.calls.clear()
        self.failures.clear()
        self.webhook.clear()
        self.next_message_id = 1000

    def calls_to(self, method: str) -> list[dict[str, Any]]:
        """The parameters of every call of ``method`` (case-insensitive), in order."""
        return [params for name, params in self.calls if name == method.lower()]

    # --- the Bot API methods --------------------------------------------------------
    def get_updates(self, params: dict[str, Any]) -> Response:
        if self.failures:
            status = self.failures.pop(0)
            return _error(status, "Internal Server Error" if status >= 500 else "Error")
        offset = int(params.get("offset") or 0)
        limit = int(params.get("limit") or 100)
        if offset:  # confirming: Telegram forgets everything before the offset
            self.updates[:] = [u for u in self.updates if u["update_id"] >= offset]
        return _ok(self.updates[:limit])

    def get_file(self, params: dict[str, Any]) -> Response:
        file_id = str(params.get("file_id"))
        if file_id not in self.files:
            return _error(400, "Bad Request: invalid file_id")
        content = self.files[file_id]
        return _ok(
            {
                "file_id": file_id,
                "file_unique_id": "u" + file_id[-8:],
                "file_size": len(content),
                "file_path": f"documents/{file_id}.bin",
            }
        )

    def send_message(self, params: dict[str, Any]) -> Response:
        chat_id = int(params["chat_id"])
        text = str(params.get("text", ""))
        if not text or len(text.encode("utf-16-le")) // 2 > 4096:
            return _error(400, "Bad Request: message text is empty or too long")
        message: dict[str, Any] = {
            "message_id": self.next_message_id,
            "from": {key: BOT[key] for key in ("id", "is_bot", "first_name", "username")},
            "chat": {"id": chat_id, "type": "private" if chat_id > 0 else "supergroup"},
            "date": self.clock,
            "text": text,
        }
        self.next_message_id += 1
        self.sent.append({"params": params, "result": message})
        return _ok(message)

    def answer(self, method: str, params: dict[str, Any]) -> Response:
        self.calls.append((method, params))
        if method == "getme":
            return _ok(BOT)
        if method == "getupdates":
            return self.get_updates(params)
        if method == "getfile":
            return self.get_file(params)
        if method == "sendmessage":
            return self.send_message(params)
        if method == "setwebhook":
            self.webhook.update(params)
            return _ok(True)
        return _error(404, "Not Found")

    def app(self) -> Starlette:
        """The ASGI app serving ``/bot<token>/<method>`` and ``/file/bot<token>/<path>``."""

        async def method(request: Request) -> Response:
            if request.path_params["token"] != self.token:
                return _error(401, "Unauthorized")
            params = await _parameters(request)
            return self.answer(request.path_params["method"].lower(), params)

        async def download(request: Request) -> Response:
            if request.path_params["token"] != self.token:
                return _error(401, "Unauthorized")
            file_id = request.path_params["path"].rsplit("/", 1)[-1].removesuffix(".bin")
            if file_id not in self.files:
                return Response(status_code=404)
            return Response(self.files[file_id], media_type="application/octet-stream")

        return Starlette(
            routes=[
                Route("/bot{token}/{method}", method, methods=["GET", "POST"]),
                Route("/file/bot{token}/{path:path}", download, methods=["GET"]),
            ]
        )


def _ok(result: Any) -> Response:
    return JSONResponse({"ok": True, "result": result})


def _error(status: int, description: str) -> Response:
    body = {"ok": False, "error_code": status, "description": description}
    return JSONResponse(body, status_code=status)


async def _parameters(request: Request) -> dict[str, Any]:
    # The Bot API takes parameters in the query, a form, multipart or JSON; lists and
    # objects inside a form are JSON-encoded strings.
    params: dict[str, Any] = dict(request.query_params)
    content_type = request.headers.get("content-type", "")
    if content_type.startswith("application/json"):
        body = await request.body()
        if body:
            params.update(json.loads(body))
        return params
    if content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
        async with request.form() as form:
            for key, value in form.items():
                params[key] = _maybe_json(value) if isinstance(value, str) else value
    return params


def _maybe_json(value: str) -> Any:
    if value[:1] in "[{":
        try:
            return json.loads(value)
        except json.JSONDecodeError:
            return value
    return value
