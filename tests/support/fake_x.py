"""A fake X API v2: mentions, post lookup, posting, DM events and sending DMs.

Seeded with recorded answers (``tests/fixtures/x/*.json``), it answers in the v2 shape
(``data`` / ``includes`` / ``meta`` with ``newest_id``, ``oldest_id``, ``result_count``,
``next_token`` / ``errors``), filters by ``since_id`` / ``start_time`` and pages by
``max_results`` like X does, and records every request (path, query, headers, JSON) so
tests can check what tweepy built. Canned answers (a 429 with rate-limit headers) can
be queued per path.

tweepy's host is fixed (``https://api.twitter.com``): :func:`client_for` gives the
connector an httpx client whose transport sends those requests to this server.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

FIXTURES = Path(__file__).parent.parent / "fixtures" / "x"
OUR_ID = "1306456789012345678"


@dataclass
class Recorded:
    """One request the fake received."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: Any


@dataclass
class FakeXApi:
    """The fake's state."""

    tweets: dict[str, dict[str, Any]] = field(default_factory=dict)
    dm_events: dict[str, dict[str, Any]] = field(default_factory=dict)
    users: dict[str, dict[str, Any]] = field(default_factory=dict)
    places: dict[str, dict[str, Any]] = field(default_factory=dict)
    page_errors: list[dict[str, Any]] = field(default_factory=list)
    canned: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    requests: list[Recorded] = field(default_factory=list)
    posted: list[dict[str, Any]] = field(default_factory=list)
    tokens: dict[str, int] = field(default_factory=dict)  # recorded next_token → offset
    next_id: int = 1985123456789012999

    def reset(self) -> None:
        """Forget everything (between tests)."""
        for part in (
            self.tweets,
            self.dm_events,
            self.users,
            self.places,
            self.canned,
            self.tokens,
        ):
            part.clear()
        self.page_errors.clear()
        self.requests.clear()
        self.posted.clear()
        self.next_id = 1985123456789012999

    def load(self, name: str) -> dict[str, Any]:
        """Add a recorded answer's posts or DM events (and their expansions) to the store."""
        answer: dict[str, Any] = json.loads((FIXTURES / name).read_text(encoding="utf-8"))
        includes = answer.get("includes", {})
        self.users |= {u["id"]: u for u in includes.get("users", [])}
        self.places |= {p["id"]: p for p in includes.get("places", [])}
        store = self.dm_events if "event_type" in answer["data"][0] else self.tweets
        store |= {item["id"]: item for item in answer["data"]}
        self.page_errors += answer.get("errors", [])
        return answer

    def queue(self, path: str, answer: dict[str, Any]) -> None:
        """Answer the next request to ``path`` with ``answer`` (status, headers, body)."""
        self.canned.setdefault(path, []).append(answer)

    def to(self, path_start: str) -> list[Recorded]:
        """The requests whose path starts with ``path_start``."""
        return [r for r in self.requests if r.path.startswith(path_start)]

    # --- answers -----------------------------------------------------------------------
    def _page(self, items: list[dict[str, Any]], query: dict[str, str]) -> dict[str, Any]:
        items = sorted(items, key=lambda item: int(item["id"]), reverse=True)
        size = int(query.get("max_results", "100"))
        token = query.get("pagination_token")
        start = 0
        if token:
            start = self.tokens[token] if token in self.tokens else int(token.removeprefix("tok"))
        page = items[start : start + size]
        if not page:
            return {"meta": {"result_count": 0}}
        meta: dict[str, Any] = {
            "newest_id": page[0]["id"],
            "oldest_id": page[-1]["id"],
            "result_count": len(page),
        }
        if start + size < len(items):
            meta["next_token"] = f"tok{start + size}"
        answer: dict[str, Any] = {"data": page, "meta": meta}
        includes = self._includes(page, query.get("expansions", ""))
        if includes:
            answer["includes"] = includes
        wanted = {p for item in page if (p := (item.get("geo") or {}).get("place_id"))}
        errors = [e for e in self.page_errors if e.get("resource_id") in wanted]
        if errors:
            answer["errors"] = errors
        return answer

    def _includes(self, page: list[dict[str, Any]], expansions: str) -> dict[str, Any]:
        includes: dict[str, Any] = {}
        people = {item.get("author_id") or item.get("sender_id") for item in page}
        if "author_id" in expansions or "sender_id" in expansions:
            users = [self.users[u] for u in sorted(p for p in people if p) if u in self.users]
            if users:
                includes["users"] = users
        if "geo.place_id" in expansions:
            ids = {(item.get("geo") or {}).get("place_id") for item in page}
            places = [self.places[p] for p in sorted(i for i in ids if i) if p in self.places]
            if places:
                includes["places"] = places
        return includes

    def mentions(self, user_id: str, query: dict[str, str]) -> dict[str, Any]:
        found = [t for t in self.tweets.values() if t.get("author_id") != user_id]
        if "since_id" in query:
            found = [t for t in found if int(t["id"]) > int(query["since_id"])]
        if "start_time" in query:
            found = [t for t in found if t["created_at"][:19] >= query["start_time"][:19]]
        return self._page(found, query)

    def dm_list(self, query: dict[str, str], conversation: str | None) -> dict[str, Any]:
        found = list(self.dm_events.values())
        if conversation is not None:
            found = [e for e in found if e["dm_conversation_id"] == conversation]
        return self._page(found, query)

    def create_tweet(self, body: dict[str, Any]) -> Response:
        self.next_id += 1
        tweet_id = str(self.next_id - 1)
        tweet = {"id": tweet_id, "text": body["text"], "edit_history_tweet_ids": [tweet_id]}
        self.posted.append({"kind": "post", "body": body, "id": tweet_id})
        return JSONResponse({"data": tweet}, status_code=201)

    def create_dm(self, participant: str, body: dict[str, Any]) -> Response:
        self.next_id += 1
        event_id = str(self.next_id - 1)
        pair = sorted((participant, OUR_ID), key=int)
        conversation = f"{pair[0]}-{pair[1]}"
        self.dm_events[event_id] = {
            "id": event_id,
            "event_type": "MessageCreate",
            "text": body["text"],
            "sender_id": OUR_ID,
            "dm_conversation_id": conversation,
            "created_at": "2026-11-02T05:30:00.000Z",
        }
        self.posted.append({"kind": "dm", "body": body, "to": participant, "id": event_id})
        data = {"dm_conversation_id": conversation, "dm_event_id": event_id}
        return JSONResponse({"data": data}, status_code=201)

    async def answer(self, request: Request) -> Response:
        path = request.url.path
        body = json.loads(await request.body() or b"null")
        query = dict(request.query_params)
        self.requests.append(Recorded(request.method, path, query, dict(request.headers), body))
        for prefix, answers in self.canned.items():
            if path.startswith(prefix) and answers:
                canned = answers.pop(0)
                recorded = canned["body"] if isinstance(canned["body"], dict) else {}
                if "next_token" in recorded.get("meta", {}):  # a recorded page: it pages on
                    self.tokens[recorded["meta"]["next_token"]] = len(recorded.get("data", []))
                return JSONResponse(canned["body"], canned["status"], canned.get("headers"))
        parts = path.strip("/").split("/")
        if request.method == "GET" and parts[:2] == ["2", "users"] and parts[3:] == ["mentions"]:
            return JSONResponse(self.mentions(parts[2], query))
        if request.method == "GET" and parts == ["2", "tweets"]:
            ids = query.get("ids", "").split(",")
            found = [self.tweets[i] for i in ids if i in self.tweets]
            return JSONResponse(
                self._page(found, query) if found else {"meta": {"result_count": 0}}
            )
        if request.method == "POST" and parts == ["2", "tweets"]:
            return self.create_tweet(body)
        if request.method == "GET" and parts == ["2", "dm_events"]:
            return JSONResponse(self.dm_list(query, None))
        if (
            request.method == "GET"
            and parts[:2] == ["2", "dm_conversations"]
            and parts[3:] == ["dm_events"]
        ):
            return JSONResponse(self.dm_list(query, parts[2]))
        if request.method == "POST" and parts[:3] == ["2", "dm_conversations", "with"]:
            return self.create_dm(parts[3], body)
        return JSONResponse({"title": "Not Found Error", "status": 404}, status_code=404)

    def app(self) -> Starlette:
        """The ASGI app serving the ``/2/…`` routes qanat uses."""
        return Starlette(routes=[Route("/{path:path}", self.answer, methods=["GET", "POST"])])


class ToLoopback(httpx.AsyncBaseTransport):
    """Sends requests for X's hosts to the fake server instead (what a proxy would do)."""

    def __init__(self, base_url: str) -> None:
        self._target = httpx.URL(base_url)
        self._inner = httpx.AsyncHTTPTransport()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if request.url.host in ("api.twitter.com", "api.x.com"):
            request.url = request.url.copy_with(
                scheme=self._target.scheme, host=self._target.host, port=self._target.port
            )
        return await self._inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self._inner.aclose()


def client_for(base_url: str) -> httpx.AsyncClient:
    """An httpx client (like the runtime's) whose X requests reach the fake at ``base_url``."""
    return httpx.AsyncClient(transport=ToLoopback(base_url), timeout=10)
