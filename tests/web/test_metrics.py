"""``/metrics`` counts what the store holds, whichever process did the work."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import httpx
from prometheus_client.parser import text_string_to_metric_families

from qanat.ingest.interchange import import_file
from qanat.jobs.reconcile import reconcile
from qanat.runtime import Runtime
from qanat.web.app import create_app

IMPORTS = Path(__file__).parent.parent / "fixtures" / "import"


async def scrape(runtime: Runtime) -> dict[str, dict[tuple[tuple[str, str], ...], float]]:
    transport = httpx.ASGITransport(app=create_app(runtime=runtime))
    async with httpx.AsyncClient(transport=transport, base_url="http://qanat.test") as http:
        response = await http.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    samples: dict[str, dict[tuple[tuple[str, str], ...], float]] = {}
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            key = tuple(sorted(sample.labels.items()))
            samples.setdefault(sample.name, {})[key] = sample.value
    return samples


async def test_metrics_count_messages_latency_and_reconciliation(runtime: Runtime) -> None:
    await import_file(runtime.intake, IMPORTS / "sewage_block_305.jsonl")
    await reconcile(runtime, since=datetime(2026, 11, 1, tzinfo=UTC))
    samples = await scrape(runtime)
    messages = samples["qanat_messages"]
    assert messages[(("channel", "email"), ("direction", "in"), ("state", "processed"))] == 2
    assert sum(messages.values()) == 6
    assert samples["qanat_processing_latency_seconds_count"][()] == 6
    assert samples["qanat_reconcile_last_ok"][(("account", "default"), ("channel", "sms"))] == 1


async def test_only_prometheus_may_scrape_and_a_scrape_is_cached(runtime: Runtime) -> None:
    app = create_app(runtime=runtime)

    def client(host: str, **headers: str) -> httpx.AsyncClient:
        transport = httpx.ASGITransport(app=app, client=(host, 40000))
        return httpx.AsyncClient(transport=transport, base_url="http://q.test", headers=headers)

    async with client("203.0.113.9") as stranger:
        assert (await stranger.get("/metrics")).status_code == 403
    async with client("127.0.0.1") as local:
        first = await local.get("/metrics")
        await import_file(runtime.intake, IMPORTS / "sewage_block_305.jsonl")
        again = await local.get("/metrics")
    assert first.status_code == 200 and again.text == first.text  # served from the cache
    runtime.settings = runtime.settings.model_copy(update={"metrics_token": "s3cret"})
    async with client("203.0.113.9", Authorization="Bearer s3cret") as prometheus:
        assert (await prometheus.get("/metrics")).status_code == 200
    async with client("127.0.0.1", Authorization="Bearer wrong") as local:
        assert (await local.get("/metrics")).status_code == 403  # a token, once set, is needed
