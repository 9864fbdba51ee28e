"""The X connector passes the connector contract kit (tweepy's requests, the kit's transport)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, ClassVar

import httpx

from qanat.ingest.x.connector import SPEC
from qanat.model import Reply, Sender
from qanat.testing import ConnectorContractTests

FIXTURES = Path(__file__).parents[2] / "fixtures" / "x"


def recorded(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"))


def x_api(request: httpx.Request) -> httpx.Response:
    """X API v2 as the kit's HTTP client sees it."""
    path = request.url.path
    if not request.headers.get("authorization", "").startswith("OAuth "):
        return httpx.Response(401, json={"title": "Unauthorized", "status": 401})
    if path.endswith("/mentions"):
        first = recorded("mentions_page1.json")
        first["meta"].pop("next_token")
        return httpx.Response(200, json=first)
    if path == "/2/dm_events":
        return httpx.Response(200, json={"meta": {"result_count": 0}})
    if path == "/2/tweets" and request.method == "POST":
        tweet = {"id": "1985123456789019999", "text": json.loads(request.content)["text"]}
        return httpx.Response(201, json={"data": tweet})
    return httpx.Response(404, json={"title": "Not Found Error", "status": 404})


class TestXContract(ConnectorContractTests):
    spec = SPEC
    account: ClassVar[dict[str, Any]] = {
        "account": "moworks",
        "user_id": "1306456789012345678",
        "consumer_key": "ck",
        "consumer_secret": "cs",
        "access_token": "at",
        "access_token_secret": "ats",
    }

    def source(self) -> httpx.MockTransport:
        return httpx.MockTransport(x_api)

    def reply(self) -> Reply:
        return Reply(
            ticket_reference="QN-2026-000001",
            channel="x",
            account="moworks",
            to=Sender(handle="1523456789012345678"),
            text="شكرًا، تم تحويل البلاغ إلى قسم الإنارة 💡",
            in_reply_to=["1985123456789012803"],
        )
