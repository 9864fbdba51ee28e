"""Channel health: successes and failures recorded, shown in the API and /metrics."""

from __future__ import annotations

import httpx

from qanat.runtime import Runtime
from qanat.web.app import create_app


async def test_failures_count_until_a_success_and_show_everywhere(runtime: Runtime) -> None:
    await runtime.health.failure("email", "complaints", "IMAP login failed: [AUTHENTICATIONFAILED]")
    await runtime.health.failure("email", "complaints", "timed out")
    await runtime.cursors.put("email", "complaints", {"uidvalidity": 3, "last_uid": 41})
    transport = httpx.ASGITransport(app=create_app(runtime=runtime))
    async with httpx.AsyncClient(transport=transport, base_url="http://qanat.test") as http:
        [failing] = (await http.get("/api/channels")).json()
        await runtime.health.success("email", "complaints")
        [healthy] = (await http.get("/api/channels")).json()
        metrics = (await http.get("/metrics")).text
    assert failing["error_count"] == 2 and failing["consecutive_errors"] == 2
    assert failing["last_error"] == "timed out" and failing["last_success_at"] is None
    assert failing["watermark"] == {"uidvalidity": 3, "last_uid": 41}
    assert healthy["error_count"] == 2 and healthy["consecutive_errors"] == 0
    assert healthy["last_success_at"] is not None
    assert 'qanat_channel_errors{account="complaints",channel="email"} 2.0' in metrics
