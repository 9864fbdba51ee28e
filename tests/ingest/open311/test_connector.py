"""The Open311 client against GeoReport v2 answers in the shapes Chicago and the spec
document: paging, watermarks, requests without an id yet, status updates, forwarding."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from qanat.errors import BadPayload, ChannelUnavailable
from qanat.ingest.base import ConnectorContext
from qanat.ingest.open311.client import NewRequest, StatusUpdate
from qanat.ingest.open311.connector import SPEC, Open311Connector
from qanat.ingest.registry import account_config
from qanat.model import Reply, Sender
from qanat.testing import MemoryCursors, MemoryHealth, MemoryIntake
from tests.support.fake_open311 import FakeGeoReport, recorded

NOW = datetime(2026, 11, 2, 16, 0, tzinfo=UTC)


def connector(
    upstream: FakeGeoReport, **settings: Any
) -> tuple[Open311Connector, MemoryIntake, MemoryCursors, MemoryHealth]:
    account = {
        "account": "national",
        "endpoint": "https://national.example.bh/open311/v2/",
        "api_key": "upstream-key",
        "page_size": 3,
        **settings,
    }
    intake, cursors, health = MemoryIntake(), MemoryCursors(), MemoryHealth()
    context = ConnectorContext(
        channel="open311",
        account="national",
        config=account_config(SPEC, account),
        intake=intake,
        cursors=cursors,
        health=health,
        http=httpx.AsyncClient(transport=upstream.transport()),
        clock=lambda: NOW,
    )
    return Open311Connector(context), intake, cursors, health


def chicago() -> FakeGeoReport:
    upstream = FakeGeoReport()
    upstream.requests = recorded("chicago_requests_page1.json") + recorded(
        "chicago_requests_page2.json"
    )
    return upstream


def test_every_page_is_read_and_a_request_without_an_id_waits() -> None:
    upstream = chicago()
    open311, intake, cursors, health = connector(upstream)
    report = asyncio.run(open311.poll_once())
    assert report is not None and report.saved == 3 and report.error is None
    stored = {i.external_id: i for i in intake.inbounds()}
    assert set(stored) == {"SR26-01830412", "SR26-01830527", "SR26-01830688"}
    assert [p["page"] for p in upstream.listings] == ["1", "2"]
    assert all(p["extensions"] == "true" for p in upstream.listings)
    pothole = stored["SR26-01830412"]
    assert pothole.category == "4fd3b656e750846c53000004"
    assert pothole.location is not None and pothole.location.lat == pytest.approx(41.968738)
    assert pothole.location.block is None  # a five-digit zipcode is not a Bahraini block
    assert pothole.metadata["extended_attributes"]["ward"] == 47
    assert json.loads(pothole.raw or b"") == recorded("chicago_requests_page1.json")[0]
    assert stored["SR26-01830527"].status == "resolved"  # closed upstream before we saw it
    assert health.reports == [("success", "")]
    mark = cursors.values[("open311", "national")]
    assert mark["updated_after"] == "2026-11-02T15:15:03+00:00"


def test_a_second_poll_brings_only_what_changed() -> None:
    upstream = chicago()
    open311, intake, _cursors, _health = connector(upstream)
    asyncio.run(open311.poll_once())
    again = asyncio.run(open311.poll_once())
    assert again is not None and again.saved == 0 and again.edited == 0
    asked = upstream.listings[-1]["updated_after"]
    assert asked == "2026-11-02T15:10:03+00:00"  # the mark, less five minutes of overlap
    changed = dict(upstream.requests[2])
    changed.update(description="pothole near 2111 W Lawrence, now wider", status="closed")
    changed["updated_datetime"] = "2026-11-02T10:00:00-06:00"
    upstream.requests[2] = changed
    third = asyncio.run(open311.poll_once())
    assert third is not None and third.edited == 1 and third.saved == 0
    assert intake.messages[("open311", "national", "SR26-01830527")][0].text.endswith("wider")


def test_the_specifications_sample_is_read() -> None:
    upstream = FakeGeoReport(requests=recorded("georeport_wiki_requests.json"))
    open311, intake, _cursors, _health = connector(upstream, first_days=10_000)
    asyncio.run(open311.poll_once())
    first, second = intake.inbounds()
    assert (first.external_id, second.external_id) == ("638344", "638349")
    assert first.text == "Sidewalk and Curb Issues"  # no description: the service's name
    assert first.location is not None and first.location.address == "8TH AVE and JUDAH ST"
    assert first.metadata["media_url"].endswith("638344.jpg")


def test_too_many_pages_keep_the_watermark_where_it_was() -> None:
    upstream = chicago()
    open311, intake, cursors, health = connector(upstream, page_size=1, max_pages=2)
    report = asyncio.run(open311.poll_once())
    assert report is not None and "raise max_pages" in (report.error or "")
    assert intake.messages == {} and cursors.values == {}
    assert health.reports[-1][0] == "failure"


def test_an_upstream_outage_is_reported_and_loses_nothing() -> None:
    upstream = chicago()
    upstream.down = True
    open311, intake, _cursors, health = connector(upstream)
    report = asyncio.run(open311.poll_once())
    assert report is not None and "503" in (report.error or "") and intake.messages == {}
    upstream.down = False
    assert asyncio.run(open311.poll_once()).saved == 3  # type: ignore[union-attr]
    assert [kind for kind, _ in health.reports] == ["failure", "success"]


def test_a_forward_only_body_is_not_polled() -> None:
    open311, _intake, _cursors, _health = connector(chicago(), poll=False, forward=True)
    assert asyncio.run(open311.poll_once()) is None
    assert asyncio.run(open311.list_since(NOW)) == []


def test_status_goes_back_once_per_update_id() -> None:
    upstream = chicago()
    open311, _intake, _cursors, _health = connector(upstream)
    update = StatusUpdate("SR26-01830412", "qanat-7", "Resolved on site.", "closed", NOW)
    assert asyncio.run(open311.post_update(update)) == "u1"
    assert asyncio.run(open311.post_update(update)) == "u1"  # a retry after a lost answer
    [sent] = upstream.updates.values()
    assert sent["status"] == "CLOSED" and sent["updated_datetime"] == "2026-11-02T16:00:00+00:00"


def test_a_public_reply_is_an_update_without_a_status() -> None:
    upstream = chicago()
    open311, _intake, _cursors, _health = connector(upstream)
    reply = Reply(
        ticket_reference="QN-2026-000004",
        channel="open311",
        account="national",
        to=Sender(handle="national:SR26-01830412"),
        text="سيتم إصلاح الحفرة خلال أسبوع",
        in_reply_to=["SR26-01830412"],
    )
    sent = asyncio.run(open311.send(reply))
    again = asyncio.run(open311.send(reply))
    assert sent.external_id == again.external_id == "u1"
    [posted] = upstream.updates.values()
    assert "status" not in posted and posted["description"] == reply.text


def test_a_configured_post_and_no_updates_at_all() -> None:
    seen: list[httpx.Request] = []

    def upstream(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json=recorded("fms_update_answer.json"))

    url = "https://complaints.example.bh/api/requests/{service_request_id}/status"
    open311, *_ = connector(FakeGeoReport(), updates={"style": "post", "url": url})
    open311.client.http = httpx.AsyncClient(transport=httpx.MockTransport(upstream))
    update = StatusUpdate("N-77", "qanat-1", "Done.", "closed", NOW)
    assert asyncio.run(open311.post_update(update)) == "8217"
    assert str(seen[0].url) == "https://complaints.example.bh/api/requests/N-77/status"
    silent, *_ = connector(FakeGeoReport(), updates={"style": "none"})
    with pytest.raises(BadPayload):
        asyncio.run(silent.post_update(update))


def test_forwarding_posts_a_new_request_and_keeps_its_reference() -> None:
    upstream = FakeGeoReport()
    open311, *_ = connector(upstream, poll=False, forward=True)
    request = NewRequest("ROAD-01", "حفرة كبيرة", lat=26.2, lon=50.58)
    assert asyncio.run(open311.forward(request)) == ("SR26-01830901", None)
    assert upstream.posted[0]["service_code"] == "ROAD-01" and upstream.posted[0]["long"] == "50.58"

    def queued(_request: httpx.Request) -> httpx.Response:
        return httpx.Response(201, json=recorded("post_request_token.json"))

    open311.client.http = httpx.AsyncClient(transport=httpx.MockTransport(queued))
    assert asyncio.run(open311.forward(request)) == (None, "5ff3e0a9f1b0a3c0c9000019")


def test_a_wrong_key_is_refused_for_good() -> None:
    open311, *_ = connector(chicago(), api_key="wrong")
    with pytest.raises(BadPayload, match="api_key is not valid"):
        asyncio.run(open311.forward(NewRequest("ROAD-01", "x")))
    down = chicago()
    down.down = True
    broken, *_ = connector(down)
    with pytest.raises(ChannelUnavailable):
        asyncio.run(broken.forward(NewRequest("ROAD-01", "x")))


def test_reconciliation_lists_and_fetches_the_days_requests() -> None:
    upstream = chicago()
    open311, *_ = connector(upstream)
    since = datetime(2026, 11, 2, 14, 0, tzinfo=UTC)
    assert asyncio.run(open311.list_since(since)) == ["SR26-01830527", "SR26-01830688"]

    async def fetched() -> list[str]:
        return [i.external_id async for i in open311.fetch(["SR26-01830688"])]

    assert asyncio.run(fetched()) == ["SR26-01830688"]
