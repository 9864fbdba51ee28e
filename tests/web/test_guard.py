"""The outer edge: unreadable URLs refused, unhandled errors a bare 500 with no details."""

from __future__ import annotations

import json
import logging

import httpx
import pytest
from fastapi import FastAPI

from qanat.logs import JsonFormatter
from qanat.web.guard import RequestGuard, url_problem


def test_urls_with_nul_or_bytes_that_are_not_utf8_are_refused() -> None:
    assert url_problem("/open311/v2/requests/\x00.json", b"") == "the path contains a NUL character"
    assert url_problem("/x", b"service_code=%00") == "the query contains a NUL character"
    assert url_problem("/x", b"q=%FF") == "the query is not UTF-8"
    assert url_problem("/x", b"q=%D8%B7%D9%81%D8%AD") is None  # Arabic is fine


async def test_an_unhandled_error_is_a_bare_500_and_one_clean_log_line(
    caplog: pytest.LogCaptureFixture,
) -> None:
    app = FastAPI()

    @app.get("/boom")
    async def boom() -> None:
        raise RuntimeError("INSERT INTO message VALUES ('+97333991177')")

    app.add_middleware(RequestGuard)
    caplog.set_level(logging.INFO)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://q.test") as client:
        response = await client.get("/boom")
        refused = await client.get("/boom?x=%00")
    assert response.status_code == 500
    assert response.json()["detail"].startswith("internal error (incident ")
    assert "INSERT" not in response.text and "+973" not in response.text
    assert refused.status_code == 400
    [record] = [r for r in caplog.records if r.name == "qanat.web.guard"]
    line = JsonFormatter().format(record)
    assert json.loads(line)["error"]["type"] == "RuntimeError"
    assert "INSERT" not in line and "Traceback" not in line and "+973" not in line
